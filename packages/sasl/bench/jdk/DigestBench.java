// The JDK's DIGEST-MD5 (javax.security.sasl, com.sun.security.sasl.digest), timed the way
// bench/cases.ts times saslkit: a full exchange with a new client and server each time (qop
// auth), and wrap + unwrap of one buffer in each direction for a qop and cipher. Compiled and run
// by bench/run.mjs; prints one JSON object per line.
//
//   java DigestBench <warmupMs> <measureMs> <case> [<case>...]
//
// Cases: exchange | layer:<qop>:<cipher|->:<bytes>:<c2s|s2c>
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.RealmChoiceCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslClientFactory;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

public final class DigestBench {
  private static final CallbackHandler HANDLER = callbacks -> {
    for (Callback cb : callbacks) {
      if (cb instanceof NameCallback) ((NameCallback) cb).setName("smtpuser");
      else if (cb instanceof PasswordCallback) ((PasswordCallback) cb).setPassword("secret".toCharArray());
      else if (cb instanceof RealmCallback) {
        RealmCallback rc = (RealmCallback) cb;
        rc.setText(rc.getDefaultText());
      } else if (cb instanceof RealmChoiceCallback) ((RealmChoiceCallback) cb).setSelectedIndex(0);
      else if (cb instanceof AuthorizeCallback) ((AuthorizeCallback) cb).setAuthorized(true);
    }
  };

  // The factories are looked up once: Sasl.createSaslClient/Server walk the security providers
  // on every call, which is not the mechanism's cost.
  private static final SaslClientFactory CLIENTS = clientFactory();
  private static final SaslServerFactory SERVERS = serverFactory();

  private static SaslClientFactory clientFactory() {
    Enumeration<SaslClientFactory> all = Sasl.getSaslClientFactories();
    while (all.hasMoreElements()) {
      SaslClientFactory f = all.nextElement();
      for (String name : f.getMechanismNames(null)) if (name.equals("DIGEST-MD5")) return f;
    }
    throw new IllegalStateException("no DIGEST-MD5 client");
  }

  private static SaslServerFactory serverFactory() {
    Enumeration<SaslServerFactory> all = Sasl.getSaslServerFactories();
    while (all.hasMoreElements()) {
      SaslServerFactory f = all.nextElement();
      for (String name : f.getMechanismNames(null)) if (name.equals("DIGEST-MD5")) return f;
    }
    throw new IllegalStateException("no DIGEST-MD5 server");
  }

  private SaslClient client;
  private SaslServer server;

  private void exchange(String qop, String cipher) throws Exception {
    Map<String, Object> props = new HashMap<>();
    props.put(Sasl.QOP, qop);
    props.put(Sasl.STRENGTH, "high,medium,low");
    props.put(Sasl.MAX_BUFFER, "16777215");
    server = SERVERS.createSaslServer("DIGEST-MD5", "smtp", "mail.example.com", props, HANDLER);
    client = CLIENTS.createSaslClient(
        new String[] {"DIGEST-MD5"}, null, "smtp", "mail.example.com", props, HANDLER);
    byte[] challenge = server.evaluateResponse(new byte[0]);
    if (cipher != null) {
      // Offer only the cipher under test, as DigestPeer does.
      String text = new String(challenge, "ISO-8859-1");
      challenge = text.replaceFirst("cipher=\"[^\"]*\"", "cipher=\"" + cipher + "\"")
          .getBytes("ISO-8859-1");
    }
    byte[] response = client.evaluateChallenge(challenge);
    byte[] last = server.evaluateResponse(response);
    client.evaluateChallenge(last);
    if (!client.isComplete() || !server.isComplete()) throw new IllegalStateException("incomplete");
  }

  public static void main(String[] args) throws Exception {
    long warmup = Long.parseLong(args[0]);
    long measure = Long.parseLong(args[1]);
    for (int i = 2; i < args.length; i++) run(warmup, measure, args[i].split(":"));
  }

  private static void run(long warmup, long measure, String[] args) throws Exception {
    DigestBench b = new DigestBench();
    if (args[0].equals("exchange")) {
      Runnable op = () -> {
        try {
          b.exchange("auth", null);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      };
      time(op, warmup);
      double perSecond = time(op, measure);
      System.out.println("{\"case\":\"exchange\",\"perSecond\":" + perSecond + "}");
      return;
    }
    String qop = args[1];
    String cipher = args[2].equals("-") ? null : args[2];
    int size = Integer.parseInt(args[3]);
    boolean c2s = args[4].equals("c2s");
    b.exchange(qop, cipher);
    String negotiated = (String) b.client.getNegotiatedProperty(Sasl.QOP);
    if (!qop.equals(negotiated)) throw new IllegalStateException("negotiated " + negotiated);
    byte[] data = new byte[size];
    new Random(1).nextBytes(data);
    Runnable op = () -> {
      try {
        if (c2s) {
          byte[] w = b.client.wrap(data, 0, data.length);
          b.server.unwrap(w, 0, w.length);
        } else {
          byte[] w = b.server.wrap(data, 0, data.length);
          b.client.unwrap(w, 0, w.length);
        }
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    };
    time(op, warmup);
    double perSecond = time(op, measure);
    double mib = perSecond * size / (1024.0 * 1024.0);
    System.out.println("{\"case\":\"layer\",\"qop\":\"" + qop + "\",\"cipher\":\""
        + (cipher == null ? "" : cipher) + "\",\"bytes\":" + size + ",\"direction\":\""
        + args[4] + "\",\"mibPerSecond\":" + mib + "}");
  }

  // Runs op for about `ms` milliseconds; returns operations per second.
  private static double time(Runnable op, long ms) {
    long start = System.nanoTime();
    long end = start + ms * 1_000_000L;
    long n = 0;
    long now;
    do {
      for (int i = 0; i < 8; i++) op.run();
      n += 8;
      now = System.nanoTime();
    } while (now < end);
    return n / ((now - start) / 1e9);
  }
}
