package io.convkit.cli;

import io.convkit.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format for the CLI's {@code --input-file} and {@code --output-file}: float32
 * little-endian ({@code '<f4'}), C order, format versions 1.0 to 3.0. Anything else is an
 * {@link IllegalArgumentException} naming the file and what it holds; the header and the data
 * size are checked against the file before the data is read.
 */
final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  /** A header longer than this is not a plain float32 array's. */
  private static final int MAX_HEADER = 1 << 16;
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** An array's shape and elements. */
  record Array(Shape shape, float[] data) {}

  static Array read(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, head, 0, file);
      for (int i = 0; i < MAGIC.length; i++) {
        if (head.get(i) != MAGIC[i]) {
          throw bad(file, "is not a .npy file (no \\x93NUMPY magic)");
        }
      }
      int major = head.get(6);
      long headerLen;
      int headerStart;
      if (major == 1) {
        headerLen = head.getShort(8) & 0xffff;
        headerStart = 10;
      } else if (major == 2 || major == 3) {
        headerLen = head.getInt(8) & 0xffffffffL;
        headerStart = 12;
      } else {
        throw bad(file, "has .npy format version " + major + ", expected 1, 2 or 3");
      }
      if (headerLen > MAX_HEADER || headerStart + headerLen > size) {
        throw bad(file, "declares a header of " + headerLen + " bytes in a file of " + size);
      }
      ByteBuffer h = ByteBuffer.allocate((int) headerLen);
      readFully(ch, h, headerStart, file);
      String header = new String(h.array(), major == 3 ? StandardCharsets.UTF_8
          : StandardCharsets.ISO_8859_1);
      String descr = group(DESCR, header, file, "descr");
      if (!descr.equals("<f4")) {
        throw bad(file, "holds dtype '" + descr + "'; convkit reads float32 ('<f4')");
      }
      if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
        throw bad(file, "is in Fortran order; convkit reads C order (numpy.ascontiguousarray)");
      }
      List<Integer> dims = new ArrayList<>();
      for (String d : group(SHAPE, header, file, "shape").split(",")) {
        if (d.isBlank()) {
          continue;
        }
        try {
          dims.add(Integer.parseInt(d.strip()));
        } catch (NumberFormatException e) {
          throw bad(file, "has shape dimension '" + d.strip() + "', not a whole number below 2^31");
        }
      }
      if (dims.isEmpty()) {
        throw bad(file, "holds a scalar; expected an array");
      }
      Shape shape;
      try {
        shape = Shape.of(dims.stream().mapToInt(Integer::intValue).toArray());
      } catch (IllegalArgumentException e) {
        throw bad(file, "has shape " + dims + ": " + e.getMessage());
      }
      long dataStart = headerStart + headerLen;
      long bytes = 4 * shape.elements();
      if (shape.elements() > Integer.MAX_VALUE - 8 || size - dataStart != bytes) {
        throw bad(file, "has shape " + shape + " (" + bytes + " bytes of float32) but "
            + (size - dataStart) + " bytes of data");
      }
      ByteBuffer data = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, data, dataStart, file);
      float[] f = new float[(int) shape.elements()];
      data.asFloatBuffer().get(f);
      return new Array(shape, f);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read '" + file + "': " + e.getMessage(), e);
    }
  }

  /** Writes {@code data} with {@code shape} as a float32 C-order .npy (format 1.0). */
  static void write(Path file, Shape shape, float[] data) {
    StringBuilder dims = new StringBuilder();
    for (int i = 0; i < shape.rank(); i++) {
      dims.append(shape.dim(i)).append(shape.rank() == 1 || i < shape.rank() - 1 ? ", " : "");
    }
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims.toString().strip()
        + "), }";
    // Pad with spaces and a newline so that the data starts on a 64-byte boundary.
    int total = 10 + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 4 * data.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
    b.put(header.getBytes(StandardCharsets.ISO_8859_1));
    b.asFloatBuffer().put(data);
    try {
      Files.write(file, b.array());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write '" + file + "': " + e.getMessage(), e);
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long at, Path file)
      throws IOException {
    long pos = at;
    while (b.hasRemaining()) {
      int n = ch.read(b, pos);
      if (n < 0) {
        throw bad(file, "ends early, at byte " + pos);
      }
      pos += n;
    }
    b.flip();
  }

  private static String group(Pattern p, String header, Path file, String key) {
    Matcher m = p.matcher(header);
    if (!m.find()) {
      throw bad(file, "has no readable '" + key + "' in its header");
    }
    return m.group(1);
  }

  private static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException("'" + file + "' " + what);
  }
}
