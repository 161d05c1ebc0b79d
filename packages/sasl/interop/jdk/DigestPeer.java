// The JDK's own DIGEST-MD5 (javax.security.sasl, SunSASL provider) as an interop peer for
// saslkit's tests. Speaks the line protocol documented in ../peer.ts on stdin/stdout; started
// with one argument, a JSON config. Test tooling only; not published.
//
// Config keys: role, mechanism, username, password, authzid?, realm?, service, host, qop,
// ciphers?, maxbuf?, and JDK-specific extras: utf8 (server: false drops charset=utf-8),
// strength (Sasl.STRENGTH), sendmaxbuf, serverName (server: null for "*"), props (raw
// javax.security.sasl properties, passed as strings).

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.RealmChoiceCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;

public final class DigestPeer {
  private static final String CIPHER_PROPERTY = "com.sun.security.sasl.digest.cipher";
  private static final String REALM_PROPERTY = "com.sun.security.sasl.digest.realm";
  private static final String UTF8_PROPERTY = "com.sun.security.sasl.digest.utf8";

  private final Map<String, Object> config;
  private final boolean server;
  private final OutputStream out =
      new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 20);
  private final StringBuilder pending = new StringBuilder();
  private SaslClient saslClient;
  private SaslServer saslServer;
  private String authenticatedUser;
  private String negotiatedCipher;
  private boolean reported;

  private DigestPeer(Map<String, Object> config) {
    this.config = config;
    this.server = "server".equals(config.get("role"));
  }

  public static void main(String[] args) throws IOException {
    DigestPeer peer;
    try {
      if (args.length != 1) throw new IllegalArgumentException("expected one JSON argument");
      if (args[0].indexOf('\uFFFD') >= 0) {
        throw new IllegalArgumentException(
            "config arrived with U+FFFD: run java under a UTF-8 locale (LC_ALL=C.UTF-8)");
      }
      peer = new DigestPeer(new Json(args[0]).object());
    } catch (RuntimeException e) {
      System.out.println("ERR config: " + oneLine(e.toString()));
      System.out.flush();
      System.exit(2);
      return;
    }
    peer.run();
  }

  private void run() throws IOException {
    try {
      if (!"DIGEST-MD5".equals(config.get("mechanism"))) {
        throw new SaslException("only DIGEST-MD5 is supported, not " + config.get("mechanism"));
      }
      if (server) {
        saslServer = createServer();
        emitMessage(narrowCiphers(saslServer.evaluateResponse(new byte[0])));
        reportIfComplete();
      }
    } catch (Exception e) {
      emit("ERR " + oneLine(e.toString()));
    }
    flush();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 20);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.equals("QUIT")) break;
      try {
        handle(line);
      } catch (Exception e) {
        pending.setLength(0);
        emit("ERR " + oneLine(e.toString()));
      }
      flush();
    }
    flush();
  }

  private void handle(String line) throws Exception {
    int space = line.indexOf(' ');
    String verb = space < 0 ? line : line.substring(0, space);
    byte[] data = Base64.getDecoder().decode(space < 0 ? "" : line.substring(space + 1));
    switch (verb) {
      case "S":
        if (server) {
          if (saslServer.isComplete()) throw new SaslException("exchange already complete");
          String cipher = directive(data, "cipher");
          if (cipher != null && has("ciphers") && !splitList(str("ciphers")).contains(cipher)) {
            throw new SaslException("client chose cipher " + cipher + ", which was not offered");
          }
          byte[] challenge = saslServer.evaluateResponse(data);
          if (cipher != null) negotiatedCipher = cipher;
          emitMessage(challenge);
        } else {
          if (saslClient == null) saslClient = createClient(data);
          if (saslClient.isComplete()) throw new SaslException("exchange already complete");
          byte[] response = saslClient.evaluateChallenge(data);
          // getNegotiatedProperty knows no cipher, so the peer reads it from its own response.
          String cipher = response == null ? null : directive(response, "cipher");
          if (cipher != null) negotiatedCipher = cipher;
          emitMessage(response);
        }
        reportIfComplete();
        break;
      case "WRAP":
        emit("W " + b64(server ? saslServer.wrap(data, 0, data.length)
            : client().wrap(data, 0, data.length)));
        break;
      case "UNWRAP":
        // The JDK returns an empty array, without an exception, when a MAC or the padding is
        // wrong; the driver sees that as "U " and compares.
        emit("U " + b64(server ? saslServer.unwrap(data, 0, data.length)
            : client().unwrap(data, 0, data.length)));
        break;
      default:
        throw new IllegalArgumentException("unknown command " + verb);
    }
  }

  // The JDK server offers every cipher the platform has; with "ciphers" configured the peer
  // narrows the directive (in the configured order) and refuses any other choice.
  private byte[] narrowCiphers(byte[] challenge) {
    if (!has("ciphers") || directive(challenge, "cipher") == null) return challenge;
    List<String> platform = splitList(directive(challenge, "cipher"));
    List<String> offer = new ArrayList<>();
    for (String cipher : splitList(str("ciphers"))) if (platform.contains(cipher)) offer.add(cipher);
    String text = new String(challenge, StandardCharsets.ISO_8859_1);
    text = text.replaceFirst("cipher=\"[^\"]*\"", "cipher=\"" + String.join(",", offer) + "\"");
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  private SaslClient client() throws SaslException {
    if (saslClient == null) throw new SaslException("no exchange yet");
    return saslClient;
  }

  private SaslServer createServer() throws SaslException {
    Map<String, Object> props = commonProps();
    if (has("realm")) props.put(REALM_PROPERTY, str("realm"));
    if (Boolean.FALSE.equals(config.get("utf8"))) props.put(UTF8_PROPERTY, "false");
    String serverName = config.containsKey("serverName") ? (String) config.get("serverName")
        : str("host");
    SaslServer s = Sasl.createSaslServer("DIGEST-MD5", str("service"), serverName, props,
        this::serverCallbacks);
    if (s == null) throw new SaslException("no DIGEST-MD5 server in this JDK");
    return s;
  }

  // The JDK client reads its cipher choice (one cipher) in the constructor, so the client is
  // made when the first challenge arrives: the first cipher of the configured preference list
  // that the server offers becomes com.sun.security.sasl.digest.cipher.
  private SaslClient createClient(byte[] challenge) throws SaslException {
    Map<String, Object> props = commonProps();
    if (has("ciphers")) {
      List<String> offered = splitList(directive(challenge, "cipher"));
      String chosen = null;
      for (String cipher : splitList(str("ciphers"))) {
        if (offered.contains(cipher)) {
          chosen = cipher;
          break;
        }
      }
      // None offered: insist on the first preference so that the JDK refuses, as it should.
      if (chosen == null && !splitList(str("ciphers")).isEmpty()) {
        chosen = splitList(str("ciphers")).get(0);
      }
      if (chosen != null) props.put(CIPHER_PROPERTY, chosen);
    }
    String authzid = has("authzid") ? str("authzid") : null;
    SaslClient c = Sasl.createSaslClient(new String[] {"DIGEST-MD5"}, authzid, str("service"),
        str("host"), props, this::clientCallbacks);
    if (c == null) throw new SaslException("no DIGEST-MD5 client in this JDK");
    return c;
  }

  private Map<String, Object> commonProps() {
    Map<String, Object> props = new HashMap<>();
    if (has("qop")) props.put(Sasl.QOP, str("qop"));
    if (has("strength")) props.put(Sasl.STRENGTH, str("strength"));
    if (config.get("maxbuf") != null) props.put(Sasl.MAX_BUFFER, num("maxbuf"));
    if (config.get("sendmaxbuf") != null) {
      props.put("javax.security.sasl.sendmaxbuffer", num("sendmaxbuf"));
    }
    Object raw = config.get("props");
    if (raw instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) raw).entrySet()) {
        props.put((String) e.getKey(), String.valueOf(e.getValue()));
      }
    }
    return props;
  }

  private void clientCallbacks(Callback[] callbacks) throws UnsupportedCallbackException {
    for (Callback cb : callbacks) {
      if (cb instanceof NameCallback) {
        ((NameCallback) cb).setName(str("username"));
      } else if (cb instanceof PasswordCallback) {
        ((PasswordCallback) cb).setPassword(str("password").toCharArray());
      } else if (cb instanceof RealmCallback) {
        RealmCallback rc = (RealmCallback) cb;
        rc.setText(has("realm") ? str("realm") : rc.getDefaultText());
      } else if (cb instanceof RealmChoiceCallback) {
        RealmChoiceCallback rc = (RealmChoiceCallback) cb;
        int index = 0;
        String[] choices = rc.getChoices();
        for (int i = 0; i < choices.length; i++) {
          if (has("realm") && choices[i].equals(str("realm"))) index = i;
        }
        rc.setSelectedIndex(index);
      } else {
        throw new UnsupportedCallbackException(cb);
      }
    }
  }

  private void serverCallbacks(Callback[] callbacks) throws UnsupportedCallbackException {
    String name = null;
    for (Callback cb : callbacks) {
      if (cb instanceof NameCallback) {
        name = ((NameCallback) cb).getDefaultName();
        authenticatedUser = name;
      }
    }
    for (Callback cb : callbacks) {
      if (cb instanceof NameCallback || cb instanceof RealmCallback) {
        continue; // the JDK passes the client's values as defaults
      } else if (cb instanceof PasswordCallback) {
        // Unknown users get no password, which the JDK reports as a failure.
        if (str("username").equals(name)) {
          ((PasswordCallback) cb).setPassword(str("password").toCharArray());
        }
      } else if (cb instanceof AuthorizeCallback) {
        AuthorizeCallback ac = (AuthorizeCallback) cb;
        String wanted = ac.getAuthorizationID();
        boolean self = wanted.equals(ac.getAuthenticationID());
        ac.setAuthorized(self || (has("authzid") && wanted.equals(str("authzid"))));
        if (ac.isAuthorized()) ac.setAuthorizedID(wanted);
      } else {
        throw new UnsupportedCallbackException(cb);
      }
    }
  }

  private void reportIfComplete() {
    boolean complete = server ? saslServer.isComplete()
        : saslClient != null && saslClient.isComplete();
    if (!complete || reported) return;
    reported = true;
    Map<String, Object> result = new LinkedHashMap<>();
    String qop = (String) negotiated(Sasl.QOP);
    result.put("qop", qop);
    if ("auth-conf".equals(qop)) result.put("cipher", negotiatedCipher);
    result.put("strength", negotiated(Sasl.STRENGTH));
    if (server) {
      result.put("authzid", saslServer.getAuthorizationID());
      result.put("user", authenticatedUser);
    } else {
      result.put("authzid", has("authzid") ? str("authzid") : null);
      result.put("user", str("username"));
    }
    result.put("maxbuf", negotiated(Sasl.MAX_BUFFER));
    result.put("sendmaxbuf", negotiated("javax.security.sasl.sendmaxbuffer"));
    result.put("rawSendSize", negotiated(Sasl.RAW_SEND_SIZE));
    emit("OK " + Json.write(result));
  }

  private Object negotiated(String name) {
    return server ? saslServer.getNegotiatedProperty(name)
        : saslClient.getNegotiatedProperty(name);
  }

  private void emitMessage(byte[] message) {
    emit("C " + b64(message == null ? new byte[0] : message));
  }

  // Lines of one command go out in one write, so the driver sees a C and its OK together.
  private void emit(String line) {
    pending.append(line).append('\n');
  }

  private void flush() throws IOException {
    out.write(pending.toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
    pending.setLength(0);
  }

  private boolean has(String key) {
    return config.get(key) != null;
  }

  private String str(String key) {
    Object value = config.get(key);
    if (value == null) throw new IllegalArgumentException("config lacks " + key);
    return String.valueOf(value);
  }

  private String num(String key) {
    Object value = config.get(key);
    if (value instanceof Double) return Long.toString(Math.round((Double) value));
    return String.valueOf(value);
  }

  private static List<String> splitList(String text) {
    List<String> out = new ArrayList<>();
    if (text == null) return out;
    for (String part : text.split("[,\\s]+")) if (!part.isEmpty()) out.add(part);
    return out;
  }

  // Finds one directive of a DIGEST-MD5 message; enough for the peer's own bookkeeping.
  private static String directive(byte[] message, String key) {
    String text = new String(message, StandardCharsets.UTF_8);
    int i = 0;
    while (i < text.length()) {
      while (i < text.length() && (text.charAt(i) == ',' || Character.isWhitespace(text.charAt(i)))) {
        i++;
      }
      int eq = text.indexOf('=', i);
      if (eq < 0) return null;
      String name = text.substring(i, eq).trim();
      i = eq + 1;
      StringBuilder value = new StringBuilder();
      if (i < text.length() && text.charAt(i) == '"') {
        i++;
        while (i < text.length() && text.charAt(i) != '"') {
          if (text.charAt(i) == '\\' && i + 1 < text.length()) i++;
          value.append(text.charAt(i++));
        }
        i++;
      } else {
        while (i < text.length() && text.charAt(i) != ',') value.append(text.charAt(i++));
      }
      if (name.equalsIgnoreCase(key)) return value.toString().trim();
    }
    return null;
  }

  private static String b64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  private static String oneLine(String text) {
    return text.replace('\r', ' ').replace('\n', ' ');
  }

  // Minimal JSON for the flat config (strings, numbers, booleans, null, nested objects).
  static final class Json {
    private final String s;
    private int i;

    Json(String s) {
      this.s = s;
    }

    Map<String, Object> object() {
      Map<String, Object> map = new LinkedHashMap<>();
      expect('{');
      ws();
      if (peek() == '}') {
        i++;
        return map;
      }
      for (;;) {
        ws();
        String key = string();
        ws();
        expect(':');
        map.put(key, value());
        ws();
        char c = s.charAt(i++);
        if (c == '}') return map;
        if (c != ',') throw new IllegalArgumentException("bad JSON at " + i);
      }
    }

    private Object value() {
      ws();
      char c = peek();
      if (c == '"') return string();
      if (c == '{') return object();
      if (s.startsWith("true", i)) {
        i += 4;
        return Boolean.TRUE;
      }
      if (s.startsWith("false", i)) {
        i += 5;
        return Boolean.FALSE;
      }
      if (s.startsWith("null", i)) {
        i += 4;
        return null;
      }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
      if (start == i) throw new IllegalArgumentException("bad JSON value at " + i);
      return Double.valueOf(s.substring(start, i));
    }

    private String string() {
      expect('"');
      StringBuilder b = new StringBuilder();
      for (;;) {
        char c = s.charAt(i++);
        if (c == '"') return b.toString();
        if (c != '\\') {
          b.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case 'n': b.append('\n'); break;
          case 't': b.append('\t'); break;
          case 'r': b.append('\r'); break;
          case 'b': b.append('\b'); break;
          case 'f': b.append('\f'); break;
          case 'u':
            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
            break;
          default: b.append(e);
        }
      }
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    }

    private char peek() {
      if (i >= s.length()) throw new IllegalArgumentException("JSON ends early");
      return s.charAt(i);
    }

    private void expect(char c) {
      ws();
      if (peek() != c) throw new IllegalArgumentException("expected " + c + " at " + i);
      i++;
    }

    static String write(Map<String, Object> map) {
      StringBuilder b = new StringBuilder("{");
      for (Map.Entry<String, Object> e : map.entrySet()) {
        if (e.getValue() == null) continue;
        if (b.length() > 1) b.append(',');
        quote(b, e.getKey());
        b.append(':');
        quote(b, String.valueOf(e.getValue()));
      }
      return b.append('}').toString();
    }

    private static void quote(StringBuilder b, String text) {
      b.append('"');
      for (int k = 0; k < text.length(); k++) {
        char c = text.charAt(k);
        if (c == '"' || c == '\\') b.append('\\').append(c);
        else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
        else b.append(c);
      }
      b.append('"');
    }
  }
}
