package io.convkit.nn.weights;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * A strict parser for the JSON subset a safetensors header uses: objects, arrays, strings and
 * integers. Objects become {@code LinkedHashMap<String, Object>}, arrays {@code List<Object>},
 * integers {@code Long}. Everything else (floats, true/false/null, trailing commas, duplicate
 * keys, bad UTF-8, lone surrogates) is an {@link IllegalArgumentException} giving the byte
 * position in the file.
 */
final class Json {
  // safetensors needs three levels; the cap keeps "[[[[..." from overflowing the stack.
  private static final int MAX_DEPTH = 32;

  private final byte[] b;
  private final long base;
  private final String prefix;
  private int p;
  private int depth;

  private Json(byte[] b, long base, String prefix) {
    this.b = b;
    this.base = base;
    this.prefix = prefix;
  }

  /**
   * Parses one value filling {@code bytes} (JSON whitespace allowed around it). {@code base} is
   * the file offset of {@code bytes[0]}, for messages; {@code prefix} starts every message.
   */
  static Object parse(byte[] bytes, long base, String prefix) {
    Json j = new Json(bytes, base, prefix);
    Object v = j.value();
    j.skipWs();
    if (j.p < bytes.length) {
      throw j.error("unexpected " + j.describe() + " after the end of the JSON value");
    }
    return v;
  }

  /**
   * Parses one object filling {@code bytes} and hands each member to {@code member} as soon as
   * it is parsed, instead of building the whole tree: a safetensors header's per-tensor maps
   * then become garbage one by one, so parsing needs little more heap than the header itself.
   * The checks and messages are {@link #parse}'s (duplicate keys included).
   */
  static void parseObject(byte[] bytes, long base, String prefix,
      BiConsumer<String, Object> member) {
    Json j = new Json(bytes, base, prefix);
    j.skipWs();
    if (j.peek() != '{') {
      throw j.error("expected an object, found " + j.describe());
    }
    j.object(member);
    j.skipWs();
    if (j.p < bytes.length) {
      throw j.error("unexpected " + j.describe() + " after the end of the JSON value");
    }
  }

  private Object value() {
    skipWs();
    if (p >= b.length) {
      throw error("expected a value, reached the end of the header");
    }
    return switch (b[p]) {
      case '{' -> object(null);
      case '[' -> array();
      case '"' -> string();
      case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> integer();
      default -> throw error("unexpected " + describe() + ", expected an object, array, string"
          + " or integer");
    };
  }

  /** An object; with a {@code sink}, its members go there and the map returned stays empty. */
  private Map<String, Object> object(BiConsumer<String, Object> sink) {
    enter();
    p++; // '{'
    Map<String, Object> m = new LinkedHashMap<>();
    Set<String> seen = sink == null ? m.keySet() : new HashSet<>();
    skipWs();
    if (peek() == '}') {
      p++;
      depth--;
      return m;
    }
    while (true) {
      skipWs();
      if (peek() != '"') {
        throw error("expected a string key, found " + describe());
      }
      int keyAt = p;
      String key = string();
      if (seen.contains(key)) {
        p = keyAt;
        throw error("duplicate key '" + key + "'");
      }
      skipWs();
      expect(':');
      Object v = value();
      if (sink == null) {
        m.put(key, v);
      } else {
        seen.add(key);
        sink.accept(key, v);
      }
      skipWs();
      int c = peek();
      p++;
      if (c == '}') {
        depth--;
        return m;
      }
      if (c != ',') {
        p--;
        throw error("expected ',' or '}', found " + describe());
      }
    }
  }

  private List<Object> array() {
    enter();
    p++; // '['
    List<Object> list = new ArrayList<>();
    skipWs();
    if (peek() == ']') {
      p++;
      depth--;
      return list;
    }
    while (true) {
      list.add(value());
      skipWs();
      int c = peek();
      p++;
      if (c == ']') {
        depth--;
        return list;
      }
      if (c != ',') {
        p--;
        throw error("expected ',' or ']', found " + describe());
      }
    }
  }

  private Long integer() {
    int start = p;
    boolean negative = peek() == '-';
    if (negative) {
      p++;
    }
    if (!isDigit(peek())) {
      throw error("expected a digit, found " + describe());
    }
    if (peek() == '0' && isDigit(peekAt(p + 1))) {
      throw error("leading zero in an integer");
    }
    long v = 0;
    while (isDigit(peek())) {
      int d = b[p] - '0';
      // Accumulate negatively so Long.MIN_VALUE parses; overflow is checked per digit.
      if (v < (Long.MIN_VALUE + d) / 10) {
        p = start;
        throw error("integer out of the 64-bit range");
      }
      v = v * 10 - d;
      p++;
    }
    int c = peek();
    if (c == '.' || c == 'e' || c == 'E') {
      throw error("only integers may appear in a safetensors header, found " + describe());
    }
    if (!negative) {
      if (v == Long.MIN_VALUE) {
        p = start;
        throw error("integer out of the 64-bit range");
      }
      v = -v;
    }
    return v;
  }

  private String string() {
    p++; // '"'
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (p >= b.length) {
        throw error("unterminated string");
      }
      int c = b[p] & 0xff;
      if (c == '"') {
        p++;
        return sb.toString();
      } else if (c == '\\') {
        escape(sb);
      } else if (c < 0x20) {
        throw error("unescaped control character " + describe() + " in a string");
      } else if (c < 0x80) {
        sb.append((char) c);
        p++;
      } else {
        sb.appendCodePoint(utf8());
      }
    }
  }

  private void escape(StringBuilder sb) {
    p++; // '\'
    int c = peek();
    switch (c) {
      case '"', '\\', '/' -> sb.append((char) c);
      case 'b' -> sb.append('\b');
      case 'f' -> sb.append('\f');
      case 'n' -> sb.append('\n');
      case 'r' -> sb.append('\r');
      case 't' -> sb.append('\t');
      case 'u' -> {
        int at = p - 1;
        p++;
        char u = (char) hex4();
        if (Character.isHighSurrogate(u)) {
          if (peek() != '\\' || peekAt(p + 1) != 'u') {
            p = at;
            throw error("unpaired surrogate \\u" + hexOf(u));
          }
          p += 2;
          char low = (char) hex4();
          if (!Character.isLowSurrogate(low)) {
            p = at;
            throw error("unpaired surrogate \\u" + hexOf(u));
          }
          sb.append(u).append(low);
        } else if (Character.isLowSurrogate(u)) {
          p = at;
          throw error("unpaired surrogate \\u" + hexOf(u));
        } else {
          sb.append(u);
        }
        return;
      }
      default -> throw error("invalid escape: '\\' followed by " + describe());
    }
    p++;
  }

  private int hex4() {
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(peek(), 16);
      if (d < 0) {
        throw error("expected 4 hex digits after \\u, found " + describe());
      }
      v = v * 16 + d;
      p++;
    }
    return v;
  }

  /** Decodes one multi-byte UTF-8 sequence at p, rejecting overlong forms and surrogates. */
  private int utf8() {
    int lead = b[p] & 0xff;
    int n;
    int cp;
    int min;
    if (lead >= 0xc2 && lead <= 0xdf) {
      n = 1;
      cp = lead & 0x1f;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      n = 2;
      cp = lead & 0x0f;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      n = 3;
      cp = lead & 0x07;
      min = 0x10000;
    } else {
      throw error("invalid UTF-8 byte 0x" + Integer.toHexString(lead));
    }
    for (int i = 1; i <= n; i++) {
      int c = peekAt(p + i);
      if (c < 0x80 || c > 0xbf) {
        throw error("invalid UTF-8 sequence");
      }
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw error("invalid UTF-8 sequence (overlong, a surrogate or past U+10FFFF)");
    }
    p += n + 1;
    return cp;
  }

  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw error("nesting deeper than " + MAX_DEPTH + " levels");
    }
  }

  private void expect(char c) {
    if (peek() != c) {
      throw error("expected '" + c + "', found " + describe());
    }
    p++;
  }

  private void skipWs() {
    while (p < b.length && (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t')) {
      p++;
    }
  }

  /** The byte at p as 0..255, or -1 at the end. */
  private int peek() {
    return peekAt(p);
  }

  private int peekAt(int i) {
    return i < b.length ? b[i] & 0xff : -1;
  }

  private static boolean isDigit(int c) {
    return c >= '0' && c <= '9';
  }

  private static String hexOf(char c) {
    return String.format("%04X", (int) c);
  }

  private String describe() {
    int c = peek();
    if (c < 0) {
      return "the end of the header";
    }
    return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c);
  }

  private IllegalArgumentException error(String msg) {
    return new IllegalArgumentException(prefix + msg + " at byte " + (base + p));
  }

  /** Appends {@code s} as a JSON string literal (UTF-8 text, control characters escaped). */
  static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append("\\u").append(hexOf(c));
      } else {
        sb.append(c);
      }
    }
    sb.append('"');
  }

  /** True when {@code s} encodes to UTF-8 unchanged (no unpaired surrogates). */
  static boolean isWellFormed(String s) {
    return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(s);
  }
}
