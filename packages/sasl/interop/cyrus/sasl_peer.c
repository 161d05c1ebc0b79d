/*
 * A SASL peer backed by Cyrus SASL (libsasl2): DIGEST-MD5, SCRAM-SHA-1/-256/-512 (and their -PLUS
 * variants), or any other mechanism the installed plugins offer. Driven over stdin/stdout by
 * saslkit's interop tests with the same line protocol as the JDK peer (see
 * packages/sasl/interop/peer.ts).
 *
 *   sasl_peer '{"role":"server","mechanism":"DIGEST-MD5","username":"chris",...}'
 *   sasl_peer '{"role":"client","mechanism":"SCRAM-SHA-256-PLUS","cbType":"tls-unique",
 *               "cbData":"00ff...","username":"chris","password":"secret",...}'
 *
 * Channel binding: "cbType" (the name Cyrus puts after "p=") and "cbData" (hex) are handed to the
 * library with SASL_CHANNEL_BINDING; "cbCritical": true makes the binding mandatory (Cyrus then
 * refuses the non-PLUS mechanisms). Without "cbData" the connection has no channel binding.
 * A client given "offered" (the server's mechanism list, space-separated) negotiates among them,
 * as an application would; "mechanism" must name the plugin Cyrus picks.
 *
 * A client-first mechanism (anything but DIGEST-MD5 and CRAM-MD5) makes a server peer wait for the
 * client's first message before it calls sasl_server_start; a DIGEST-MD5 server speaks at start.
 *
 * Peer -> driver: "C <b64>", "OK <json>", "W <b64>", "U <b64>", "ERR <text>".
 * Driver -> peer: "S <b64>", "WRAP <b64>", "UNWRAP <b64>", "QUIT".
 *
 * Everything Cyrus would read from the system is redirected into a private temporary folder: the
 * configuration comes from SASL_CB_GETOPT, the config search path points at the folder, and the
 * server's user lives in a sasldb file there. /etc/sasl2 is never read or written.
 *
 * Set SASL_PEER_DEBUG=1 to have Cyrus's log lines written to stderr.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sasl/sasl.h>

/* ------------------------------------------------------------------ small helpers */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("sasl_peer: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(const unsigned char *data, size_t len) {
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    unsigned n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    putchar(B64[n >> 18]);
    putchar(B64[(n >> 12) & 63]);
    putchar(B64[(n >> 6) & 63]);
    putchar(B64[n & 63]);
  }
  if (len - i == 1) {
    unsigned n = data[i] << 16;
    putchar(B64[n >> 18]);
    putchar(B64[(n >> 12) & 63]);
    fputs("==", stdout);
  } else if (len - i == 2) {
    unsigned n = (data[i] << 16) | (data[i + 1] << 8);
    putchar(B64[n >> 18]);
    putchar(B64[(n >> 12) & 63]);
    putchar(B64[(n >> 6) & 63]);
    putchar('=');
  }
}

static int b64_value(int c) {
  const char *p = c ? strchr(B64, c) : NULL;
  return p ? (int)(p - B64) : -1;
}

/* Strict decoding; returns the length, or -1. `out` needs room for 3/4 of the text. */
static long decode_base64(const char *text, unsigned char *out) {
  size_t len = strlen(text), o = 0;
  if (len % 4) return -1;
  for (size_t i = 0; i < len; i += 4) {
    int v[4], pad = 0;
    for (int j = 0; j < 4; j++) {
      char c = text[i + j];
      if (c == '=' && i + 4 == len && j >= 2) {
        v[j] = 0;
        pad++;
      } else if (pad) {
        return -1;
      } else if ((v[j] = b64_value(c)) < 0) {
        return -1;
      }
    }
    unsigned n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out[o++] = n >> 16;
    if (pad < 2) out[o++] = (n >> 8) & 0xff;
    if (pad < 1) out[o++] = n & 0xff;
  }
  return (long)o;
}

/* Writes a JSON string; bytes >= 0x80 pass through, so UTF-8 stays UTF-8. */
static void put_json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      putchar('\\');
      putchar(*p);
    } else if (*p < 0x20) {
      printf("\\u%04x", *p);
    } else {
      putchar(*p);
    }
  }
  putchar('"');
}

/* One line of output, with control characters of `text` flattened so the line stays one line. */
static void put_err(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (char *p = buf; *p; p++)
    if ((unsigned char)*p < 0x20) *p = ' ';
  printf("ERR %s\n", buf);
}

/* ------------------------------------------------------------------ the JSON configuration */

/* A flat object of string, number, boolean or null members is all the driver sends. */
struct config {
  char *role, *mechanism, *username, *password, *authzid, *realm, *service, *host, *qop, *ciphers;
  char *cb_type, *cb_data, *offered;
  unsigned maxbuf;
  int fix_des_parity, cb_critical;
};

static void put_utf8(char **out, unsigned long cp) {
  unsigned char *o = (unsigned char *)*out;
  if (cp < 0x80) {
    *o++ = cp;
  } else if (cp < 0x800) {
    *o++ = 0xc0 | (cp >> 6);
    *o++ = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    *o++ = 0xe0 | (cp >> 12);
    *o++ = 0x80 | ((cp >> 6) & 0x3f);
    *o++ = 0x80 | (cp & 0x3f);
  } else {
    *o++ = 0xf0 | (cp >> 18);
    *o++ = 0x80 | ((cp >> 12) & 0x3f);
    *o++ = 0x80 | ((cp >> 6) & 0x3f);
    *o++ = 0x80 | (cp & 0x3f);
  }
  *out = (char *)o;
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

static int hex4(const char *p, unsigned long *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    *v = (*v << 4) | d;
  }
  return 0;
}

/* Parses a JSON string at `p` (on the opening quote); returns a malloc'd UTF-8 copy. */
static char *parse_json_string(const char **pp) {
  const char *p = *pp + 1;
  char *out = xmalloc(strlen(p) * 2 + 4), *o = out;
  while (*p != '"') {
    if (!*p) die("unterminated string in config");
    if (*p != '\\') {
      *o++ = *p++;
      continue;
    }
    p++;
    switch (*p) {
    case '"': case '\\': case '/': *o++ = *p++; break;
    case 'b': *o++ = '\b'; p++; break;
    case 'f': *o++ = '\f'; p++; break;
    case 'n': *o++ = '\n'; p++; break;
    case 'r': *o++ = '\r'; p++; break;
    case 't': *o++ = '\t'; p++; break;
    case 'u': {
      unsigned long cp, lo;
      if (hex4(p + 1, &cp)) die("bad \\u escape in config");
      p += 5;
      if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' && p[1] == 'u' && !hex4(p + 2, &lo) &&
          lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
      }
      put_utf8(&o, cp);
      break;
    }
    default: die("bad escape in config");
    }
  }
  *o = '\0';
  *pp = p + 1;
  return out;
}

static void parse_config(const char *json, struct config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  const char *p = skip_ws(json);
  if (*p++ != '{') die("config must be a JSON object");
  p = skip_ws(p);
  if (*p == '}') return;
  for (;;) {
    p = skip_ws(p);
    if (*p != '"') die("expected a member name in config");
    char *name = parse_json_string(&p);
    p = skip_ws(p);
    if (*p++ != ':') die("expected ':' in config");
    p = skip_ws(p);
    char *value = NULL;
    if (*p == '"') {
      value = parse_json_string(&p);
    } else {
      const char *start = p;
      while (*p && *p != ',' && *p != '}' && *p != ' ') p++;
      size_t n = p - start;
      if (!(n == 4 && !strncmp(start, "null", 4))) {
        value = xmalloc(n + 1);
        memcpy(value, start, n);
        value[n] = '\0';
      }
    }
    char **slot = NULL;
    if (!strcmp(name, "role")) slot = &cfg->role;
    else if (!strcmp(name, "mechanism")) slot = &cfg->mechanism;
    else if (!strcmp(name, "username")) slot = &cfg->username;
    else if (!strcmp(name, "password")) slot = &cfg->password;
    else if (!strcmp(name, "authzid")) slot = &cfg->authzid;
    else if (!strcmp(name, "realm")) slot = &cfg->realm;
    else if (!strcmp(name, "service")) slot = &cfg->service;
    else if (!strcmp(name, "host")) slot = &cfg->host;
    else if (!strcmp(name, "qop")) slot = &cfg->qop;
    else if (!strcmp(name, "ciphers")) slot = &cfg->ciphers;
    else if (!strcmp(name, "cbType")) slot = &cfg->cb_type;
    else if (!strcmp(name, "cbData")) slot = &cfg->cb_data;
    else if (!strcmp(name, "offered")) slot = &cfg->offered;
    if (slot) {
      *slot = value;
    } else {
      if (!strcmp(name, "maxbuf") && value) cfg->maxbuf = (unsigned)strtoul(value, NULL, 10);
      if (!strcmp(name, "fixDesParity") && value) cfg->fix_des_parity = !strcmp(value, "true");
      if (!strcmp(name, "cbCritical") && value) cfg->cb_critical = !strcmp(value, "true");
      free(value);
    }
    free(name);
    p = skip_ws(p);
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p == '}') break;
    die("expected ',' or '}' in config");
  }
}

/* ------------------------------------------------------------------ qop and cipher policy */

/* The strength Cyrus's digestmd5.c gives each cipher (its available_ciphers table). */
static const struct {
  const char *name;
  unsigned ssf;
} CIPHERS[] = {{"rc4-40", 40}, {"rc4-56", 56}, {"rc4", 128}, {"des", 55}, {"3des", 112}};

static int list_has(const char *list, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; p && *p;) {
    while (*p == ',' || *p == ' ') p++;
    const char *end = p;
    while (*end && *end != ',' && *end != ' ') end++;
    if ((size_t)(end - p) == n && !strncasecmp(p, item, n)) return 1;
    p = end;
  }
  return 0;
}

static const char *cipher_for_ssf(unsigned ssf) {
  for (size_t i = 0; i < sizeof CIPHERS / sizeof *CIPHERS; i++)
    if (CIPHERS[i].ssf == ssf) return CIPHERS[i].name;
  return NULL;
}

/*
 * Cyrus has no qop or cipher list to configure: both sides derive what they offer or accept from
 * the ssf bounds alone (auth = 0, auth-int = 1, auth-conf = the cipher's strength), so the lists
 * are turned into the narrowest bounds that contain them.
 */
static void ssf_bounds(const struct config *cfg, sasl_ssf_t *min, sasl_ssf_t *max) {
  const char *qop = cfg->qop ? cfg->qop : "auth";
  unsigned lo = 0, hi = 0, cmin = 0, cmax = 0;
  for (size_t i = 0; i < sizeof CIPHERS / sizeof *CIPHERS; i++) {
    if (cfg->ciphers && !list_has(cfg->ciphers, CIPHERS[i].name)) continue;
    if (!cmin || CIPHERS[i].ssf < cmin) cmin = CIPHERS[i].ssf;
    if (CIPHERS[i].ssf > cmax) cmax = CIPHERS[i].ssf;
  }
  if (list_has(qop, "auth")) lo = 0;
  else if (list_has(qop, "auth-int")) lo = 1;
  else if (list_has(qop, "auth-conf")) lo = cmin ? cmin : 2;
  if (list_has(qop, "auth-conf") && cmax) hi = cmax;
  else if (list_has(qop, "auth-int")) hi = 1;
  else hi = 0;
  if (hi < lo) hi = lo;
  *min = lo;
  *max = hi;
}

/* ------------------------------------------------------------------ the 3DES key parity bug */

/*
 * Cyrus's init_3des slides 7 key bytes into 8 with the parity bits left zero and refuses the key
 * when DES_key_sched() returns an error. OpenSSL 3 checks parity there (-1 on even parity, though
 * it still fills the schedule), so with Debian 12's libraries 3des fails unless all four derived
 * keys happen to have odd parity (about 2^-32): the client gives up with "internal error: failed
 * to init cipher '3des'", the server with "couldn't init cipher '3des'" after it has checked the
 * client's response. init_des ignores the result, so single des works and is correct.
 *
 * With "fixDesParity": true in the config the peer interposes DES_key_sched (the plugin resolves
 * it against this executable first, hence -rdynamic) and sets odd parity before the real call.
 * DES ignores the parity bits, so the cipher is exactly the one Cyrus meant: that is how the 3des
 * transcripts are made. Without it the peer behaves as the packaged library does.
 */
static int fix_des_parity;

int DES_key_sched(const unsigned char (*key)[8], void *schedule);
int DES_key_sched(const unsigned char (*key)[8], void *schedule) {
  static int (*real)(const unsigned char (*)[8], void *);
  if (!real) {
    /* The plugin loads libcrypto privately, so RTLD_NEXT cannot see it; open it by name. */
    void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD);
    if (!crypto) crypto = dlopen("libcrypto.so.3", RTLD_NOW);
    if (crypto) *(void **)&real = dlvsym(crypto, "DES_key_sched", "OPENSSL_3.0.0");
    if (!real) die("the real DES_key_sched was not found: %s", dlerror());
  }
  if (!fix_des_parity) return real(key, schedule);
  unsigned char odd[8];
  for (int i = 0; i < 8; i++) {
    unsigned char b = (*key)[i] & 0xfe;
    int ones = __builtin_popcount(b);
    odd[i] = b | !(ones & 1);
  }
  return real((const unsigned char (*)[8])odd, schedule);
}

/* ------------------------------------------------------------------ Cyrus callbacks */

static struct config cfg;
static char mech_list[256];
static char state_dir[4096];
static char sasldb_path[4200];
static int debug;

static int cb_getopt(void *context, const char *plugin, const char *option, const char **result,
                     unsigned *len) {
  (void)context;
  (void)plugin;
  const char *value = NULL;
  if (!strcmp(option, "mech_list")) value = mech_list;
  else if (!strcmp(option, "pwcheck_method")) value = "auxprop";
  else if (!strcmp(option, "auxprop_plugin")) value = "sasldb";
  else if (!strcmp(option, "sasldb_path")) value = sasldb_path;
  else if (!strcmp(option, "log_level")) value = debug ? "7" : "0";
  if (!value) return SASL_FAIL;
  *result = value;
  if (len) *len = (unsigned)strlen(value);
  return SASL_OK;
}

/* The library frees the path it is given. */
static int cb_getconfpath(void *context, char **path) {
  (void)context;
  *path = strdup(state_dir);
  return *path ? SASL_OK : SASL_NOMEM;
}

static int cb_log(void *context, int level, const char *message) {
  (void)context;
  if (debug) fprintf(stderr, "cyrus[%d]: %s\n", level, message);
  return SASL_OK;
}

static int cb_simple(void *context, int id, const char **result, unsigned *len) {
  (void)context;
  const char *value = NULL;
  if (id == SASL_CB_AUTHNAME) value = cfg.username;
  else if (id == SASL_CB_USER) value = cfg.authzid ? cfg.authzid : "";
  else return SASL_FAIL;
  if (!value) return SASL_FAIL;
  *result = value;
  if (len) *len = (unsigned)strlen(value);
  return SASL_OK;
}

static int cb_pass(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret) {
  (void)conn;
  (void)context;
  static sasl_secret_t *secret;
  if (id != SASL_CB_PASS || !cfg.password) return SASL_FAIL;
  size_t n = strlen(cfg.password);
  free(secret);
  secret = xmalloc(sizeof(sasl_secret_t) + n + 1);
  secret->len = (unsigned long)n;
  memcpy(secret->data, cfg.password, n + 1);
  *psecret = secret;
  return SASL_OK;
}

/* Only consulted when the server offers several realms: Cyrus takes a single offered realm as is,
   and with none offered it uses the server's host name, whatever the application wants. */
static int cb_getrealm(void *context, int id, const char **available, const char **result) {
  (void)context;
  if (id != SASL_CB_GETREALM) return SASL_FAIL;
  *result = cfg.realm ? cfg.realm : (available && available[0] ? available[0] : "");
  return SASL_OK;
}

/* The peer lets any authenticated user act as any authorization identity. */
static int cb_proxy_policy(sasl_conn_t *conn, void *context, const char *requested, unsigned rlen,
                           const char *auth, unsigned alen, const char *realm, unsigned urlen,
                           struct propctx *propctx) {
  (void)conn, (void)context, (void)requested, (void)rlen, (void)auth, (void)alen, (void)realm,
      (void)urlen, (void)propctx;
  return SASL_OK;
}

typedef int (*cb_fn)(void);
/* sasl_callback_t stores every callback as int (*)(void); going through void (*)(void) is the
   cast GCC accepts without -Wcast-function-type. */
#define CB(f) ((cb_fn)(void (*)(void))(f))

static sasl_callback_t global_callbacks[] = {
    {SASL_CB_GETOPT, CB(cb_getopt), NULL},
    {SASL_CB_GETCONFPATH, CB(cb_getconfpath), NULL},
    {SASL_CB_LOG, CB(cb_log), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static sasl_callback_t client_callbacks[] = {
    {SASL_CB_GETOPT, CB(cb_getopt), NULL},
    {SASL_CB_LOG, CB(cb_log), NULL},
    {SASL_CB_AUTHNAME, CB(cb_simple), NULL},
    {SASL_CB_USER, CB(cb_simple), NULL},
    {SASL_CB_PASS, CB(cb_pass), NULL},
    {SASL_CB_GETREALM, CB(cb_getrealm), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, CB(cb_getopt), NULL},
    {SASL_CB_LOG, CB(cb_log), NULL},
    {SASL_CB_PROXY_POLICY, CB(cb_proxy_policy), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* ------------------------------------------------------------------ the exchange */

static sasl_conn_t *conn;
static int is_server;
static int done;
/* A server peer of a client-first mechanism: sasl_server_start waits for the first "S". */
static int awaiting_start;
static sasl_channel_binding_t channel_binding;

static void report_error(const char *what, int rc) {
  const char *detail = conn ? sasl_errdetail(conn) : sasl_errstring(rc, NULL, NULL);
  put_err("%s: %s", what, detail ? detail : sasl_errstring(rc, NULL, NULL));
}

static void put_message(const unsigned char *data, unsigned len) {
  fputs("C ", stdout);
  put_base64(data, len);
  putchar('\n');
}

/* Cyrus's canon_user qualifies server-side identities with the user realm ("chris@example.com"); the
   protocol reports them as the client named them. */
static const char *unqualified(const char *id) {
  static char buf[2][1024];
  static int which;
  if (!id || !is_server || !cfg.realm) return id;
  size_t n = strlen(id), r = strlen(cfg.realm);
  if (n <= r + 1 || id[n - r - 1] != '@' || strcmp(id + n - r, cfg.realm)) return id;
  if (n - r - 1 >= sizeof buf[0]) return id;
  char *out = buf[which ^= 1];
  memcpy(out, id, n - r - 1);
  out[n - r - 1] = '\0';
  return out;
}

static sasl_ssf_t current_ssf(void) {
  const void *p;
  return sasl_getprop(conn, SASL_SSF, &p) == SASL_OK && p ? *(const sasl_ssf_t *)p : 0;
}

static void put_outcome(void) {
  const void *p;
  sasl_ssf_t ssf = 0;
  unsigned maxoutbuf = 0;
  const char *user = NULL, *authuser = NULL;
  if (sasl_getprop(conn, SASL_SSF, &p) == SASL_OK && p) ssf = *(const sasl_ssf_t *)p;
  if (sasl_getprop(conn, SASL_MAXOUTBUF, &p) == SASL_OK && p) maxoutbuf = *(const unsigned *)p;
  if (sasl_getprop(conn, SASL_USERNAME, &p) == SASL_OK) user = p;
  if (sasl_getprop(conn, SASL_AUTHUSER, &p) == SASL_OK) authuser = p;
  if (!authuser) authuser = user;
  user = unqualified(user);
  authuser = unqualified(authuser);

  fputs("OK {\"qop\":", stdout);
  put_json_string(ssf == 0 ? "auth" : ssf == 1 ? "auth-int" : "auth-conf");
  if (ssf > 1 && cipher_for_ssf(ssf)) {
    fputs(",\"cipher\":", stdout);
    put_json_string(cipher_for_ssf(ssf));
  }
  if (authuser) {
    fputs(",\"user\":", stdout);
    put_json_string(authuser);
  }
  /* Cyrus reports the authentication id as the authorization id when none was asked for. */
  if (user && (!authuser || strcmp(user, authuser))) {
    fputs(",\"authzid\":", stdout);
    put_json_string(user);
  }
  if (sasl_getprop(conn, SASL_MECHNAME, &p) == SASL_OK && p) {
    fputs(",\"plugin\":", stdout);
    put_json_string(p);
  }
  printf(",\"ssf\":%u,\"maxoutbuf\":%u}\n", ssf, maxoutbuf);
  done = 1;
}

static void handle_step(const unsigned char *in, unsigned inlen) {
  const char *out = NULL;
  unsigned outlen = 0;
  int rc;
  if (done) {
    put_err("the exchange is already complete");
    return;
  }
  if (awaiting_start) {
    awaiting_start = 0;
    rc = sasl_server_start(conn, cfg.mechanism, (const char *)in, inlen, &out, &outlen);
    if (rc == SASL_OK) {
      if (out && outlen) put_message((const unsigned char *)out, outlen);
      put_outcome();
    } else if (rc == SASL_CONTINUE) {
      put_message((const unsigned char *)out, outlen);
    } else {
      report_error("sasl_server_start", rc);
    }
    return;
  }
  if (is_server) {
    rc = sasl_server_step(conn, (const char *)in, inlen, &out, &outlen);
    /* Without SASL_SUCCESS_DATA the library holds rspauth back as one more challenge; finish it
       here so that the driver sees the same "C rspauth" then "OK" either way. */
    if (rc == SASL_CONTINUE && outlen >= 8 && !strncasecmp(out, "rspauth=", 8)) {
      char *held = xmalloc(outlen);
      unsigned heldlen = outlen;
      memcpy(held, out, outlen);
      rc = sasl_server_step(conn, "", 0, &out, &outlen);
      if (rc == SASL_OK) {
        put_message((const unsigned char *)held, heldlen);
        free(held);
        put_outcome();
        return;
      }
      free(held);
    }
    if (rc == SASL_OK) {
      if (out && outlen) put_message((const unsigned char *)out, outlen);
      put_outcome();
    } else if (rc == SASL_CONTINUE) {
      put_message((const unsigned char *)out, outlen);
    } else {
      report_error("sasl_server_step", rc);
    }
  } else {
    sasl_interact_t *interact = NULL;
    rc = sasl_client_step(conn, (const char *)in, inlen, &interact, &out, &outlen);
    if (rc == SASL_OK) {
      put_message((const unsigned char *)out, out ? outlen : 0);
      put_outcome();
    } else if (rc == SASL_CONTINUE) {
      put_message((const unsigned char *)out, out ? outlen : 0);
    } else {
      report_error("sasl_client_step", rc);
    }
  }
}

static void handle_wrap(const unsigned char *in, unsigned inlen) {
  const char *out;
  unsigned outlen;
  if (!done) {
    put_err("WRAP before the exchange is complete");
    return;
  }
  if (current_ssf() == 0) {
    put_err("WRAP without a security layer (qop=auth)");
    return;
  }
  int rc = sasl_encode(conn, (const char *)in, inlen, &out, &outlen);
  if (rc != SASL_OK) {
    report_error("sasl_encode", rc);
    return;
  }
  if (outlen < 4) {
    put_err("sasl_encode returned %u bytes", outlen);
    return;
  }
  uint32_t framed = ((uint32_t)(unsigned char)out[0] << 24) | ((unsigned char)out[1] << 16) |
                    ((unsigned char)out[2] << 8) | (unsigned char)out[3];
  /* sasl_encode splits input above SASL_MAXOUTBUF into several buffers; the protocol has one. */
  if (framed != outlen - 4) {
    put_err("plaintext of %u bytes was split into several buffers (above maxoutbuf)", inlen);
    return;
  }
  fputs("W ", stdout);
  put_base64((const unsigned char *)out + 4, outlen - 4);
  putchar('\n');
}

static void handle_unwrap(const unsigned char *in, unsigned inlen) {
  const char *out;
  unsigned outlen;
  if (!done) {
    put_err("UNWRAP before the exchange is complete");
    return;
  }
  if (current_ssf() == 0) {
    put_err("UNWRAP without a security layer (qop=auth)");
    return;
  }
  unsigned char *framed = xmalloc(inlen + 4);
  framed[0] = inlen >> 24;
  framed[1] = inlen >> 16;
  framed[2] = inlen >> 8;
  framed[3] = inlen;
  memcpy(framed + 4, in, inlen);
  int rc = sasl_decode(conn, (const char *)framed, inlen + 4, &out, &outlen);
  free(framed);
  if (rc != SASL_OK) {
    report_error("sasl_decode", rc);
    return;
  }
  fputs("U ", stdout);
  put_base64((const unsigned char *)out, outlen);
  putchar('\n');
}

static void cleanup(void) {
  if (conn) sasl_dispose(&conn);
  if (is_server) sasl_server_done();
  else sasl_client_done();
  if (*sasldb_path) unlink(sasldb_path);
  if (*state_dir) rmdir(state_dir);
}

static void start(void) {
  sasl_ssf_t min, max;
  ssf_bounds(&cfg, &min, &max);
  sasl_security_properties_t props = {0};
  props.min_ssf = min;
  props.max_ssf = max;
  props.maxbufsize = cfg.maxbuf ? cfg.maxbuf : 65536;
  int rc;

  if (is_server) {
    rc = sasl_server_init(global_callbacks, "saslkit-cyrus-peer");
    if (rc != SASL_OK) die("sasl_server_init: %s", sasl_errstring(rc, NULL, NULL));
    rc = sasl_server_new(cfg.service, cfg.host, cfg.realm, NULL, NULL, server_callbacks,
                         SASL_SUCCESS_DATA, &conn);
    if (rc != SASL_OK) die("sasl_server_new: %s", sasl_errstring(rc, NULL, NULL));
    if (!cfg.username || !cfg.password) die("a server needs the user's username and password");
    rc = sasl_setpass(conn, cfg.username, cfg.password, (unsigned)strlen(cfg.password), NULL, 0,
                      SASL_SET_CREATE);
    if (rc != SASL_OK) die("sasl_setpass: %s", sasl_errdetail(conn));
  } else {
    rc = sasl_client_init(global_callbacks);
    if (rc != SASL_OK) die("sasl_client_init: %s", sasl_errstring(rc, NULL, NULL));
    rc = sasl_client_new(cfg.service, cfg.host, NULL, NULL, client_callbacks, 0, &conn);
    if (rc != SASL_OK) die("sasl_client_new: %s", sasl_errstring(rc, NULL, NULL));
  }
  rc = sasl_setprop(conn, SASL_SEC_PROPS, &props);
  if (rc != SASL_OK) die("sasl_setprop: %s", sasl_errdetail(conn));
  if (cfg.cb_data) {
    size_t hexlen = strlen(cfg.cb_data);
    unsigned char *bytes = xmalloc(hexlen / 2 + 1);
    if (hexlen % 2) die("cbData must be hex");
    for (size_t i = 0; i < hexlen / 2; i++) {
      unsigned v;
      if (sscanf(cfg.cb_data + 2 * i, "%2x", &v) != 1) die("cbData must be hex");
      bytes[i] = (unsigned char)v;
    }
    channel_binding.name = cfg.cb_type ? cfg.cb_type : "tls-unique";
    channel_binding.critical = cfg.cb_critical;
    channel_binding.len = hexlen / 2;
    channel_binding.data = bytes;
    rc = sasl_setprop(conn, SASL_CHANNEL_BINDING, &channel_binding);
    if (rc != SASL_OK) die("sasl_setprop(SASL_CHANNEL_BINDING): %s", sasl_errdetail(conn));
  }

  const char *out = NULL;
  unsigned outlen = 0;
  if (is_server) {
    if (strcmp(cfg.mechanism, "DIGEST-MD5") && strcmp(cfg.mechanism, "CRAM-MD5")) {
      awaiting_start = 1;
      return;
    }
    rc = sasl_server_start(conn, cfg.mechanism, NULL, 0, &out, &outlen);
    if (rc != SASL_CONTINUE) die("sasl_server_start: %s", sasl_errdetail(conn));
    put_message((const unsigned char *)out, outlen);
  } else {
    sasl_interact_t *interact = NULL;
    const char *mech = NULL;
    /* With several offered mechanisms Cyrus negotiates: with channel-binding data and no -PLUS
       among them its SCRAM client sends "y" (RFC 5802 downgrade protection). */
    rc = sasl_client_start(conn, cfg.offered ? cfg.offered : cfg.mechanism, &interact, &out,
                           &outlen, &mech);
    if (rc != SASL_CONTINUE && rc != SASL_OK) die("sasl_client_start: %s", sasl_errdetail(conn));
    /* Cyrus names the plugin, without -PLUS. */
    if (!mech || strcmp(mech, mech_list)) die("Cyrus chose %s, not %s", mech, mech_list);
    /* DIGEST-MD5 has no initial response; SCRAM's client-first message is one. */
    if (out && outlen) put_message((const unsigned char *)out, outlen);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) die("usage: sasl_peer '<json config>'");
  debug = getenv("SASL_PEER_DEBUG") && *getenv("SASL_PEER_DEBUG");
  parse_config(argv[1], &cfg);
  if (!cfg.role || (strcmp(cfg.role, "client") && strcmp(cfg.role, "server")))
    die("role must be \"client\" or \"server\"");
  if (!cfg.mechanism) cfg.mechanism = "DIGEST-MD5";
  /* mech_list names plugins; the -PLUS variant belongs to the plugin of the bare name. */
  snprintf(mech_list, sizeof mech_list, "%s", cfg.mechanism);
  size_t ml = strlen(mech_list);
  if (ml > 5 && !strcmp(mech_list + ml - 5, "-PLUS")) mech_list[ml - 5] = '\0';
  if (!cfg.service) cfg.service = "smtp";
  if (!cfg.host) die("host is required");
  is_server = !strcmp(cfg.role, "server");
  fix_des_parity = cfg.fix_des_parity;

  const char *tmp = getenv("TMPDIR");
  snprintf(state_dir, sizeof state_dir, "%s/cyrus-peer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(state_dir)) die("mkdtemp: %s", strerror(errno));
  snprintf(sasldb_path, sizeof sasldb_path, "%s/sasldb2", state_dir);
  atexit(cleanup);

  /* Output is flushed once per command, so that a final "C rspauth" and its "OK" leave in one
     write, as the driver prefers. */
  static char outbuf[1 << 20];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  start();
  fflush(stdout);

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (!strcmp(line, "QUIT")) break;
    char *arg = strchr(line, ' ');
    const char *cmd = line;
    if (arg) *arg++ = '\0';
    else arg = "";
    unsigned char *data = xmalloc(strlen(arg) / 4 * 3 + 3);
    long len = decode_base64(arg, data);
    if (strcmp(cmd, "S") && strcmp(cmd, "WRAP") && strcmp(cmd, "UNWRAP")) {
      put_err("unknown command %.40s", cmd);
    } else if (len < 0) {
      put_err("invalid base64 after %s", cmd);
    } else if (!strcmp(cmd, "S")) {
      handle_step(data, (unsigned)len);
    } else if (!strcmp(cmd, "WRAP")) {
      handle_wrap(data, (unsigned)len);
    } else {
      handle_unwrap(data, (unsigned)len);
    }
    free(data);
    fflush(stdout);
  }
  free(line);
  return 0;
}
