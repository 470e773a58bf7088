// wardwatch libpcap binding: a capture thread fills one of two bounded buffers while JavaScript reads the
// other, so capture never waits on processing; each batch carries kernel timestamps; drops are counted
// where they happen (kernel, interface, our queue). Node-API (C), libpcap 1.x.
#define NAPI_VERSION 8
#include <node_api.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

// Record layout in a batch buffer (little-endian host): ts_sec, ts_usec, caplen, origlen (u32 each), then
// caplen bytes padded to 4. Mirrored by agent/capture/live.ts.
#define RECORD_HEADER 16

typedef struct {
  pcap_t *p;
  pthread_t thread;
  int thread_started;
  pthread_mutex_t mu;
  uint8_t *buf[2];
  size_t cap;
  size_t used[2];
  uint32_t count[2];
  int fill;                 // buffer the capture thread writes into (under mu)
  volatile int running;
  int closed;
  uint64_t queue_drops;     // packets that found both buffers full
  uint64_t queue_drop_bytes;
  char thread_error[PCAP_ERRBUF_SIZE];
  napi_threadsafe_function tsfn;
  napi_ref ab_ref[2];       // external ArrayBuffers over buf[0], buf[1]
  napi_ref cb_ref;
} capture_t;

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error((env), NULL, "napi call failed: " #call); \
      return NULL;                                         \
    }                                                      \
  } while (0)

static napi_value throw_msg(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  capture_t *c = (capture_t *)user;
  size_t len = h->caplen;
  size_t need = RECORD_HEADER + ((len + 3) & ~(size_t)3);
  pthread_mutex_lock(&c->mu);
  int k = c->fill;
  if (c->used[k] + need > c->cap) {
    c->queue_drops++;
    c->queue_drop_bytes += h->len;
    pthread_mutex_unlock(&c->mu);
    return;
  }
  uint8_t *dst = c->buf[k] + c->used[k];
  uint32_t hdr[4] = {(uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec, (uint32_t)len, (uint32_t)h->len};
  memcpy(dst, hdr, sizeof hdr);
  memcpy(dst + RECORD_HEADER, bytes, len);
  c->used[k] += need;
  c->count[k]++;
  pthread_mutex_unlock(&c->mu);
}

static void *capture_loop(void *arg) {
  capture_t *c = (capture_t *)arg;
  while (c->running) {
    int r = pcap_dispatch(c->p, -1, on_packet, (u_char *)c);
    if (r == PCAP_ERROR_BREAK) break;
    if (r == PCAP_ERROR) {
      pthread_mutex_lock(&c->mu);
      strncpy(c->thread_error, pcap_geterr(c->p), sizeof c->thread_error - 1);
      pthread_mutex_unlock(&c->mu);
      napi_call_threadsafe_function(c->tsfn, NULL, napi_tsfn_blocking);
      break;
    }
    if (r > 0) napi_call_threadsafe_function(c->tsfn, NULL, napi_tsfn_nonblocking);
  }
  return NULL;
}

// Hands the filled buffer to JS (and swaps), on the main thread. JS must finish with it before returning.
static void deliver(napi_env env, capture_t *c, napi_value cb) {
  pthread_mutex_lock(&c->mu);
  int k = c->fill;
  size_t used = c->used[k];
  uint32_t count = c->count[k];
  char err[PCAP_ERRBUF_SIZE];
  strcpy(err, c->thread_error);
  c->thread_error[0] = 0;
  if (used > 0) c->fill = 1 - k;
  pthread_mutex_unlock(&c->mu);
  if (used == 0 && err[0] == 0) return;

  napi_value argv[4], ab, undefined, global;
  napi_get_undefined(env, &undefined);
  napi_get_reference_value(env, c->ab_ref[k], &ab);
  argv[0] = ab;
  napi_create_uint32(env, count, &argv[1]);
  napi_create_double(env, (double)used, &argv[2]);
  if (err[0]) napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &argv[3]);
  else argv[3] = undefined;
  napi_get_global(env, &global);
  napi_status st = napi_call_function(env, global, cb, 4, argv, NULL);

  pthread_mutex_lock(&c->mu);
  c->used[k] = 0;
  c->count[k] = 0;
  pthread_mutex_unlock(&c->mu);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)data;
  capture_t *c = (capture_t *)context;
  if (env == NULL || c->closed) return;
  deliver(env, c, cb);
}

static void free_buffer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void finalize_capture(napi_env env, void *data, void *hint) {
  (void)hint;
  capture_t *c = (capture_t *)data;
  if (c->p) {
    c->running = 0;
    pcap_breakloop(c->p);
    if (c->thread_started) pthread_join(c->thread, NULL);
    pcap_close(c->p);
  }
  // The buffers belong to their ArrayBuffers; dropping our references lets GC free them, now that no
  // thread writes into them.
  for (int i = 0; i < 2; i++) {
    if (c->ab_ref[i]) napi_delete_reference(env, c->ab_ref[i]);
  }
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static int get_opt_string(napi_env env, napi_value obj, const char *key, char *out, size_t out_len) {
  bool has = false;
  napi_has_named_property(env, obj, key, &has);
  if (!has) return 0;
  napi_value v;
  napi_valuetype t;
  napi_get_named_property(env, obj, key, &v);
  napi_typeof(env, v, &t);
  if (t != napi_string) return 0;
  size_t n;
  napi_get_value_string_utf8(env, v, out, out_len, &n);
  return 1;
}

static int64_t get_opt_int(napi_env env, napi_value obj, const char *key, int64_t dflt) {
  bool has = false;
  napi_has_named_property(env, obj, key, &has);
  if (!has) return dflt;
  napi_value v;
  napi_valuetype t;
  napi_get_named_property(env, obj, key, &v);
  napi_typeof(env, v, &t);
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    return b ? 1 : 0;
  }
  if (t != napi_number) return dflt;
  int64_t n;
  napi_get_value_int64(env, v, &n);
  return n;
}

static const char *activate_code(int rc) {
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE: return "ENODEV";
    case PCAP_ERROR_PERM_DENIED: return "EPERM";
    case PCAP_ERROR_PROMISC_PERM_DENIED: return "EPERM_PROMISC";
    case PCAP_ERROR_IFACE_NOT_UP: return "EIFDOWN";
    default: return "EPCAP";
  }
}

// Joins the handle's packet socket to a kernel fanout group in hash mode: the kernel gives each socket of the group
// a share of the packets by a symmetric flow hash (both directions alike), IP fragments reassembled first so that
// they hash as their datagram. This is how Suricata and Zeek split one interface over threads (packet(7)).
// Returns 0, or -1 with msg filled in.
static int join_fanout(pcap_t *p, int group, char *msg, size_t msg_len) {
#if defined(__linux__) && defined(PACKET_FANOUT) && defined(PACKET_FANOUT_FLAG_DEFRAG)
  int fd = pcap_fileno(p);
  int arg = (group & 0xffff) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
  if (fd < 0) {
    snprintf(msg, msg_len, "PACKET_FANOUT: the capture handle has no packet socket");
    return -1;
  }
  if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) {
    snprintf(msg, msg_len, "PACKET_FANOUT (group %d, hash): %s", group, strerror(errno));
    return -1;
  }
  return 0;
#else
  (void)p;
  (void)group;
  snprintf(msg, msg_len, "PACKET_FANOUT is not available on this system (Linux 3.1 or later)");
  return -1;
#endif
}

// open({device, snaplen, promisc, bufferSize, timeoutMs, immediate, filter, queueBytes, fanoutGroup}) -> handle
// fanoutGroup (0..65535): join that PACKET_FANOUT hash group after activation; absent or -1: no fanout.
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_msg(env, "EINVAL", "open(options) needs an options object");
  char device[256] = {0}, filter[4096] = {0}, errbuf[PCAP_ERRBUF_SIZE] = {0};
  if (!get_opt_string(env, argv[0], "device", device, sizeof device)) return throw_msg(env, "EINVAL", "device missing");
  int has_filter = get_opt_string(env, argv[0], "filter", filter, sizeof filter);
  int snaplen = (int)get_opt_int(env, argv[0], "snaplen", 65535);
  int promisc = (int)get_opt_int(env, argv[0], "promisc", 1);
  int buffer_size = (int)get_opt_int(env, argv[0], "bufferSize", 32 * 1024 * 1024);
  int timeout_ms = (int)get_opt_int(env, argv[0], "timeoutMs", 100);
  int immediate = (int)get_opt_int(env, argv[0], "immediate", 0);
  int64_t queue_bytes = get_opt_int(env, argv[0], "queueBytes", 16 * 1024 * 1024);
  int64_t fanout_group = get_opt_int(env, argv[0], "fanoutGroup", -1);
  if (fanout_group > 0xffff) return throw_msg(env, "EINVAL", "fanoutGroup must be 0 to 65535");
  if (queue_bytes < 65536 + RECORD_HEADER) queue_bytes = 65536 + RECORD_HEADER;

  pcap_t *p = pcap_create(device, errbuf);
  if (!p) return throw_msg(env, "EPCAP", errbuf);
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc);
  pcap_set_buffer_size(p, buffer_size);
  pcap_set_timeout(p, timeout_ms);
  pcap_set_immediate_mode(p, immediate);
  int rc = pcap_activate(p);
  if (rc < 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    snprintf(msg, sizeof msg, "%s", pcap_geterr(p));
    pcap_close(p);
    return throw_msg(env, activate_code(rc), msg);
  }
  if (has_filter && filter[0]) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
      char msg[PCAP_ERRBUF_SIZE + 64];
      snprintf(msg, sizeof msg, "%s", pcap_geterr(p));
      pcap_close(p);
      return throw_msg(env, "EBPF", msg);
    }
    int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set < 0) {
      char msg[PCAP_ERRBUF_SIZE + 64];
      snprintf(msg, sizeof msg, "%s", pcap_geterr(p));
      pcap_close(p);
      return throw_msg(env, "EBPF", msg);
    }
  }

  // After the filter: a socket joins the group ready to filter its share.
  if (fanout_group >= 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    if (join_fanout(p, (int)fanout_group, msg, sizeof msg) < 0) {
      pcap_close(p);
      return throw_msg(env, "EFANOUT", msg);
    }
  }

  capture_t *c = calloc(1, sizeof *c);
  c->p = p;
  c->cap = (size_t)queue_bytes / 2;
  pthread_mutex_init(&c->mu, NULL);
  for (int i = 0; i < 2; i++) {
    c->buf[i] = malloc(c->cap);
    napi_value ab;
    if (!c->buf[i] || napi_create_external_arraybuffer(env, c->buf[i], c->cap, free_buffer, NULL, &ab) != napi_ok) {
      return throw_msg(env, "ENOMEM", "cannot allocate capture buffers");
    }
    napi_create_reference(env, ab, 1, &c->ab_ref[i]);
  }
  napi_value handle;
  CHECK(env, napi_create_external(env, c, finalize_capture, NULL, &handle));
  return handle;
}

static capture_t *get_capture(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_error(env, "EINVAL", "capture handle expected");
    return NULL;
  }
  capture_t *c = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&c) != napi_ok || !c) {
    napi_throw_error(env, "EINVAL", "capture handle expected");
    return NULL;
  }
  return c;
}

// start(handle, callback(arrayBuffer, count, bytes, error?))
static napi_value Start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  capture_t *c = get_capture(env, info, 2, argv);
  if (!c) return NULL;
  if (c->thread_started || c->closed) return throw_msg(env, "EINVAL", "capture already started or closed");
  napi_value name;
  napi_create_string_utf8(env, "wardwatch-pcap", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_create_reference(env, argv[1], 1, &c->cb_ref));
  CHECK(env, napi_create_threadsafe_function(env, argv[1], NULL, name, 4, 1, NULL, NULL, c, call_js, &c->tsfn));
  c->running = 1;
  if (pthread_create(&c->thread, NULL, capture_loop, c) != 0) return throw_msg(env, "EPCAP", "cannot start capture thread");
  c->thread_started = 1;
  return NULL;
}

// stop(handle): ends the capture thread, delivers what was captured, closes the device.
static napi_value Stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  capture_t *c = get_capture(env, info, 1, argv);
  if (!c) return NULL;
  if (c->closed) return NULL;
  c->running = 0;
  if (c->p) pcap_breakloop(c->p);
  if (c->thread_started) {
    pthread_join(c->thread, NULL);
    c->thread_started = 0;
    napi_value cb;
    napi_get_reference_value(env, c->cb_ref, &cb);
    deliver(env, c, cb);
    deliver(env, c, cb);
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    napi_delete_reference(env, c->cb_ref);
  }
  c->closed = 1;
  if (c->p) {
    pcap_close(c->p);
    c->p = NULL;
  }
  return NULL;
}

static void set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

// stats(handle) -> {received, dropped, ifDropped, queueDropped, queueDroppedBytes}
static napi_value Stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  capture_t *c = get_capture(env, info, 1, argv);
  if (!c) return NULL;
  napi_value out;
  napi_create_object(env, &out);
  struct pcap_stat ps;
  memset(&ps, 0, sizeof ps);
  if (c->p && !c->closed) pcap_stats(c->p, &ps);
  set_num(env, out, "received", ps.ps_recv);
  set_num(env, out, "dropped", ps.ps_drop);
  set_num(env, out, "ifDropped", ps.ps_ifdrop);
  pthread_mutex_lock(&c->mu);
  set_num(env, out, "queueDropped", (double)c->queue_drops);
  set_num(env, out, "queueDroppedBytes", (double)c->queue_drop_bytes);
  pthread_mutex_unlock(&c->mu);
  return out;
}

static napi_value LinkType(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  capture_t *c = get_capture(env, info, 1, argv);
  if (!c) return NULL;
  napi_value n;
  napi_create_int32(env, c->p ? pcap_datalink(c->p) : -1, &n);
  return n;
}

// list() -> [{name, description, loopback, up, running, addresses: [..]}]
static napi_value List(napi_env env, napi_callback_info info) {
  (void)info;
  pcap_if_t *all = NULL;
  char errbuf[PCAP_ERRBUF_SIZE];
  if (pcap_findalldevs(&all, errbuf) < 0) return throw_msg(env, "EPCAP", errbuf);
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (pcap_if_t *d = all; d; d = d->next) {
    napi_value o, s, b, addrs;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, d->name, NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, o, "name", s);
    napi_create_string_utf8(env, d->description ? d->description : "", NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, o, "description", s);
    napi_get_boolean(env, (d->flags & PCAP_IF_LOOPBACK) != 0, &b);
    napi_set_named_property(env, o, "loopback", b);
    napi_get_boolean(env, (d->flags & PCAP_IF_UP) != 0, &b);
    napi_set_named_property(env, o, "up", b);
    napi_get_boolean(env, (d->flags & PCAP_IF_RUNNING) != 0, &b);
    napi_set_named_property(env, o, "running", b);
    napi_create_array(env, &addrs);
    uint32_t j = 0;
    for (pcap_addr_t *a = d->addresses; a; a = a->next) {
      if (!a->addr) continue;
      char text[64] = {0};
      if (a->addr->sa_family == 2) {  // AF_INET
        const uint8_t *ip = (const uint8_t *)a->addr->sa_data + 2;
        snprintf(text, sizeof text, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
      } else {
        continue;
      }
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, addrs, j++, s);
    }
    napi_set_named_property(env, o, "addresses", addrs);
    napi_set_element(env, arr, i++, o);
  }
  pcap_freealldevs(all);
  return arr;
}

static napi_value Version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, Start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, Stop, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, Stats, NULL, NULL, NULL, napi_default, NULL},
      {"linkType", NULL, LinkType, NULL, NULL, NULL, napi_default, NULL},
      {"list", NULL, List, NULL, NULL, NULL, napi_default, NULL},
      {"version", NULL, Version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  // Whether open() honours fanoutGroup: a build without it would ignore the option and every worker would see all
  // the traffic, so the caller checks this first.
  napi_value fanout;
#if defined(__linux__) && defined(PACKET_FANOUT) && defined(PACKET_FANOUT_FLAG_DEFRAG)
  napi_get_boolean(env, true, &fanout);
#else
  napi_get_boolean(env, false, &fanout);
#endif
  napi_set_named_property(env, exports, "fanout", fanout);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
