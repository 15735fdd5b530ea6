// From the team's shared tools (../shared/tools/nfqdelay.c), kept here so that a clean clone
// can build it: tests/browser/lossy.mjs (the loss test and figures) delays packets with it.
// Minimal NFQUEUE "delay line": every queued packet gets its ACCEPT verdict DELAY_MS after it
// arrived (FIFO, so order is kept). Raw nfnetlink, no libraries. Prints counters on SIGTERM/SIGINT.
// Usage: nfqdelay <queue-num> <delay-ms> <max-seconds>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd;
static uint16_t qnum;
static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static int64_t now_us(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void put_attr(char *buf, size_t *off, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)(buf + *off);
  a->nla_len = NLA_HDRLEN + len; a->nla_type = type;
  memcpy(buf + *off + NLA_HDRLEN, data, len);
  *off += NLA_ALIGN(a->nla_len);
}

static int ackflag;
static int send_msg(uint16_t type, const void *attrs, size_t alen) {
  char buf[256]; memset(buf, 0, sizeof buf);
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  nh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
  nh->nlmsg_flags = NLM_F_REQUEST | ackflag;
  struct nfgenmsg *g = (struct nfgenmsg *)NLMSG_DATA(nh);
  g->nfgen_family = AF_UNSPEC; g->version = NFNETLINK_V0; g->res_id = htons(qnum);
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *g);
  memcpy(buf + off, attrs, alen); off += alen;
  nh->nlmsg_len = off;
  struct sockaddr_nl to = { .nl_family = AF_NETLINK };
  return sendto(fd, buf, off, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

static int send_msg_ack(uint16_t type, const void *attrs, size_t alen) {
  ackflag = NLM_F_ACK;
  int r = send_msg(type, attrs, alen);
  ackflag = 0;
  if (r) { perror("send"); return -1; }
  char b[4096]; ssize_t n = recv(fd, b, sizeof b, 0);
  if (n < 0) { perror("recv ack"); return -1; }
  struct nlmsghdr *nh = (struct nlmsghdr *)b;
  if (nh->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(nh);
    if (e->error) { fprintf(stderr, "netlink error %d (%s)\n", e->error, strerror(-e->error)); return -1; }
  }
  return 0;
}

static void verdict(uint32_t id) {
  char a[64]; size_t off = 0;
  struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
  put_attr(a, &off, NFQA_VERDICT_HDR, &v, sizeof v);
  send_msg(NFQNL_MSG_VERDICT, a, off);
}

#define RING 65536
static uint32_t rid[RING]; static int64_t rdue[RING]; static size_t head, tail;

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: nfqdelay queue delay_ms max_s\n"); return 2; }
  qnum = (uint16_t)atoi(argv[1]);
  int64_t delay = (int64_t)atoi(argv[2]) * 1000;
  int64_t deadline = now_us() + (int64_t)atoi(argv[3]) * 1000000;
  signal(SIGTERM, on_sig); signal(SIGINT, on_sig);
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  if (fd < 0) { perror("socket"); return 1; }
  int rcv = 8 << 20; setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  struct sockaddr_nl me = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) { perror("bind"); return 1; }
  char a[128]; size_t off = 0;
  struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
  put_attr(a, &off, NFQA_CFG_CMD, &cmd, sizeof cmd);
  if (send_msg_ack(NFQNL_MSG_CONFIG, a, off)) { fprintf(stderr, "bind cmd failed\n"); return 1; }
  off = 0;
  struct nfqnl_msg_config_params p = { .copy_range = htonl(0), .copy_mode = NFQNL_COPY_META };
  put_attr(a, &off, NFQA_CFG_PARAMS, &p, sizeof p);
  uint32_t ql = htonl(8192);
  put_attr(a, &off, NFQA_CFG_QUEUE_MAXLEN, &ql, sizeof ql);
  if (send_msg_ack(NFQNL_MSG_CONFIG, a, off)) { fprintf(stderr, "params failed\n"); return 1; }
  fprintf(stderr, "nfqdelay: queue %u delay %lld ms\n", qnum, (long long)(delay / 1000));
  uint64_t n = 0, enobufs = 0; int64_t maxlate = 0, sumlate = 0;
  char buf[65536];
  while (!stop && now_us() < deadline) {
    int64_t t = now_us();
    while (head != tail && rdue[tail % RING] <= t) {
      int64_t late = t - rdue[tail % RING];
      if (late > maxlate) maxlate = late;
      sumlate += late;
      verdict(rid[tail % RING]); tail++;
    }
    int timeout = 100;
    if (head != tail) { int64_t w = rdue[tail % RING] - now_us(); timeout = w <= 0 ? 0 : (int)((w + 999) / 1000); }
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, timeout) <= 0) continue;
    ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0) { if (errno == ENOBUFS) enobufs++; continue; }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)r); nh = NLMSG_NEXT(nh, r)) {
      if ((nh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) continue;
      char *attrs = (char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
      int alen = nh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(struct nfgenmsg));
      for (struct nlattr *at = (struct nlattr *)attrs; alen >= (int)NLA_HDRLEN && at->nla_len >= NLA_HDRLEN && at->nla_len <= alen;
           alen -= NLA_ALIGN(at->nla_len), at = (struct nlattr *)((char *)at + NLA_ALIGN(at->nla_len))) {
        if ((at->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
          struct nfqnl_msg_packet_hdr *ph = (struct nfqnl_msg_packet_hdr *)((char *)at + NLA_HDRLEN);
          if (head - tail >= RING) { verdict(ntohl(ph->packet_id)); break; }
          rid[head % RING] = ntohl(ph->packet_id); rdue[head % RING] = now_us() + delay; head++; n++;
          break;
        }
      }
    }
  }
  while (head != tail) { verdict(rid[tail % RING]); tail++; }
  fprintf(stderr, "nfqdelay: packets %llu, verdict lateness mean %.2f ms max %.2f ms, ENOBUFS %llu\n",
          (unsigned long long)n, n ? sumlate / 1000.0 / n : 0.0, maxlate / 1000.0, (unsigned long long)enobufs);
  return 0;
}
