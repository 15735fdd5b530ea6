//! Languages of interpretation channels, and the pair an interpreter works between.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A language, as a channel name: a 2- or 3-letter lowercase ISO 639 code (`en`, `zh`, `ru`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Language(String);

/// Why a string is not a [`Language`] or a [`LanguagePair`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LanguageError {
    /// Not 2 or 3 lowercase letters.
    #[error("'{0}' is not a language code: use 2 or 3 lowercase letters, such as en, zh or ru")]
    Code(String),
    /// Not two codes joined by `-`, or twice the same.
    #[error("'{0}' is not a language pair: use two different codes joined by '-', such as ru-zh")]
    Pair(String),
}

impl Language {
    /// Parses a language code.
    pub fn parse(s: &str) -> Result<Self, LanguageError> {
        if (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(LanguageError::Code(s.chars().take(16).collect()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Language {
    type Err = LanguageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The two languages an interpreter works between (`ru-zh`), in either direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguagePair {
    /// The first language as written.
    pub a: Language,
    /// The second language as written.
    pub b: Language,
}

impl LanguagePair {
    /// Parses `xx-yy`: two different language codes.
    pub fn parse(s: &str) -> Result<Self, LanguageError> {
        let bad = || LanguageError::Pair(s.chars().take(16).collect());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (a, b) = (Language::parse(a)?, Language::parse(b)?);
        if a == b {
            return Err(bad());
        }
        Ok(Self { a, b })
    }

    /// Whether `l` is one of the pair.
    pub fn has(&self, l: &Language) -> bool {
        &self.a == l || &self.b == l
    }

    /// The other language of the pair than `l` (`l` must be one of them).
    pub fn other(&self, l: &Language) -> &Language {
        if &self.a == l {
            &self.b
        } else {
            &self.a
        }
    }
}

impl fmt::Display for LanguagePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.a, self.b)
    }
}

impl std::str::FromStr for LanguagePair {
    type Err = LanguageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for LanguagePair {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LanguagePair {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_pairs_parse_strictly() {
        assert_eq!(Language::parse("zh").unwrap().as_str(), "zh");
        assert!(Language::parse("yue").is_ok());
        for bad in ["", "e", "EN", "engl", "e1", "zh-"] {
            assert!(Language::parse(bad).is_err(), "{bad}");
        }
        let p = LanguagePair::parse("ru-zh").unwrap();
        assert!(p.has(&Language::parse("ru").unwrap()));
        assert_eq!(p.other(&Language::parse("zh").unwrap()).as_str(), "ru");
        assert_eq!(p.to_string(), "ru-zh");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"ru-zh\"");
        let back: LanguagePair = serde_json::from_str("\"ru-zh\"").unwrap();
        assert_eq!(back, p);
        for bad in ["ru", "ru-ru", "ru-zh-en", "RU-zh", "-zh"] {
            assert!(LanguagePair::parse(bad).is_err(), "{bad}");
        }
    }
}
