package dev.envoyagent.testkit.envoy;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Just enough HTTP/1.1 to proxy: messages are read whole (bodies buffered) and re-framed with
 * content-length.
 */
final class Http1 {
  static final Set<String> HOP_BY_HOP =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "transfer-encoding",
          "te",
          "upgrade",
          "trailer",
          "expect");
  private static final int MAX_HEADER_BYTES = 60 * 1024;
  private static final int MAX_BODY_BYTES = 32 * 1024 * 1024;

  private Http1() {}

  /** A message with headers in arrival order; names keep their case. */
  record Message(String startLine, List<Map.Entry<String, String>> headers, byte[] body) {
    String header(String name) {
      String found = null;
      for (Map.Entry<String, String> h : headers) {
        if (h.getKey().equalsIgnoreCase(name)) {
          found = found == null ? h.getValue() : found + "," + h.getValue();
        }
      }
      return found;
    }

    String[] startParts() {
      return startLine.split(" ", 3);
    }
  }

  /** Thrown when the peer closed before sending a single byte of a new message. */
  static final class CleanEof extends EOFException {
    CleanEof() {
      super("closed before a message started");
    }
  }

  static Message readRequest(InputStream in, OutputStream continueTo) throws IOException {
    String start = readLine(in, true);
    while (start.isEmpty()) { // tolerate stray CRLF between requests
      start = readLine(in, true);
    }
    List<Map.Entry<String, String>> headers = readHeaders(in);
    Message head = new Message(start, headers, new byte[0]);
    String expect = head.header("expect");
    if (expect != null && expect.equalsIgnoreCase("100-continue") && continueTo != null) {
      continueTo.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      continueTo.flush();
    }
    return new Message(start, headers, readBody(in, head, false));
  }

  static Message readResponse(InputStream in, String requestMethod) throws IOException {
    while (true) {
      String start = readLine(in, true);
      List<Map.Entry<String, String>> headers = readHeaders(in);
      Message head = new Message(start, headers, new byte[0]);
      int status = status(head);
      if (status >= 100 && status < 200) {
        continue; // interim responses are not forwarded
      }
      boolean noBody = "HEAD".equals(requestMethod) || status == 204 || status == 304;
      return new Message(start, headers, noBody ? new byte[0] : readBody(in, head, true));
    }
  }

  static int status(Message response) throws IOException {
    String[] parts = response.startParts();
    try {
      return Integer.parseInt(parts[1].trim());
    } catch (RuntimeException e) {
      throw new IOException("malformed status line: " + response.startLine());
    }
  }

  private static byte[] readBody(InputStream in, Message head, boolean untilCloseAllowed)
      throws IOException {
    String te = head.header("transfer-encoding");
    if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
      return readChunked(in);
    }
    String cl = head.header("content-length");
    if (cl != null) {
      long n;
      try {
        n = Long.parseLong(cl.split(",")[0].trim());
      } catch (NumberFormatException e) {
        throw new IOException("bad content-length " + cl);
      }
      if (n > MAX_BODY_BYTES) {
        throw new IOException("body too large: " + n);
      }
      byte[] body = in.readNBytes((int) n);
      if (body.length != n) {
        throw new EOFException("body ended early");
      }
      return body;
    }
    if (untilCloseAllowed) {
      return in.readAllBytes();
    }
    return new byte[0];
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (true) {
      String sizeLine = readLine(in, false);
      int semi = sizeLine.indexOf(';');
      int size;
      try {
        size = Integer.parseInt((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
      } catch (NumberFormatException e) {
        throw new IOException("bad chunk size " + sizeLine);
      }
      if (size == 0) {
        while (!readLine(in, false).isEmpty()) {
          // trailers are dropped
        }
        return out.toByteArray();
      }
      byte[] chunk = in.readNBytes(size);
      if (chunk.length != size || out.size() + size > MAX_BODY_BYTES) {
        throw new EOFException("chunk ended early or body too large");
      }
      out.write(chunk);
      readLine(in, false);
    }
  }

  private static List<Map.Entry<String, String>> readHeaders(InputStream in) throws IOException {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    int total = 0;
    while (true) {
      String line = readLine(in, false);
      if (line.isEmpty()) {
        return headers;
      }
      total += line.length();
      if (total > MAX_HEADER_BYTES) {
        throw new IOException("headers too large");
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IOException("malformed header line");
      }
      headers.add(Map.entry(line.substring(0, colon).trim(), line.substring(colon + 1).trim()));
    }
  }

  private static String readLine(InputStream in, boolean first) throws IOException {
    StringBuilder sb = new StringBuilder();
    while (true) {
      int c = in.read();
      if (c < 0) {
        if (first && sb.length() == 0) {
          throw new CleanEof();
        }
        throw new EOFException("connection closed mid-message");
      }
      if (c == '\n') {
        int len = sb.length();
        if (len > 0 && sb.charAt(len - 1) == '\r') {
          sb.setLength(len - 1);
        }
        return sb.toString();
      }
      sb.append((char) c);
      if (sb.length() > MAX_HEADER_BYTES) {
        throw new IOException("line too long");
      }
    }
  }

  static void write(
      OutputStream out,
      String startLine,
      List<Map.Entry<String, String>> headers,
      byte[] body,
      boolean alwaysLength)
      throws IOException {
    StringBuilder sb = new StringBuilder(256).append(startLine).append("\r\n");
    for (Map.Entry<String, String> h : headers) {
      sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    if (body.length > 0 || alwaysLength) {
      sb.append("content-length: ").append(body.length).append("\r\n");
    }
    sb.append("\r\n");
    out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
  }
}
