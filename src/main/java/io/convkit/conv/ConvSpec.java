package io.convkit.conv;

import io.convkit.tensor.Shape;

/**
 * An immutable description of a 2-d convolution over NCHW input: channels, kernel, stride,
 * four independent paddings, dilation, groups or a connection table, bias and a fused activation.
 * {@link Builder#build()} rejects an inconsistent spec at once with an
 * {@link IllegalArgumentException} that names the layer, the field and the value.
 */
public final class ConvSpec {
  private final String name;
  private final int inChannels;
  private final int outChannels;
  private final int kernelH;
  private final int kernelW;
  private final int strideH;
  private final int strideW;
  private final int padTop;
  private final int padLeft;
  private final int padBottom;
  private final int padRight;
  private final int dilationH;
  private final int dilationW;
  private final int groups;
  private final boolean[][] connections;
  private final int connectedPairs;
  private final boolean bias;
  private final Activation activation;
  private final boolean strict;

  private ConvSpec(Builder b) {
    this.name = b.name;
    this.inChannels = b.inChannels;
    this.outChannels = b.outChannels;
    this.kernelH = b.kernelH;
    this.kernelW = b.kernelW;
    this.strideH = b.strideH;
    this.strideW = b.strideW;
    this.padTop = b.padTop;
    this.padLeft = b.padLeft;
    this.padBottom = b.padBottom;
    this.padRight = b.padRight;
    this.dilationH = b.dilationH;
    this.dilationW = b.dilationW;
    this.groups = b.groups;
    this.connections = b.connections == null ? null : deepCopy(b.connections);
    this.bias = b.bias;
    this.activation = b.activation;
    this.strict = b.strict;
    int pairs = 0;
    if (connections != null) {
      for (boolean[] row : connections) {
        for (boolean c : row) {
          pairs += c ? 1 : 0;
        }
      }
    }
    this.connectedPairs = pairs;
  }

  public static Builder builder(int inChannels, int outChannels, int kernelH, int kernelW) {
    return new Builder(inChannels, outChannels, kernelH, kernelW);
  }

  public String name() {
    return name;
  }

  public int inChannels() {
    return inChannels;
  }

  public int outChannels() {
    return outChannels;
  }

  public int kernelH() {
    return kernelH;
  }

  public int kernelW() {
    return kernelW;
  }

  public int strideH() {
    return strideH;
  }

  public int strideW() {
    return strideW;
  }

  public int padTop() {
    return padTop;
  }

  public int padLeft() {
    return padLeft;
  }

  public int padBottom() {
    return padBottom;
  }

  public int padRight() {
    return padRight;
  }

  public int dilationH() {
    return dilationH;
  }

  public int dilationW() {
    return dilationW;
  }

  public int groups() {
    return groups;
  }

  public boolean hasConnections() {
    return connections != null;
  }

  /** Whether output channel {@code out} reads input channel {@code in} (always true without a table). */
  public boolean connected(int out, int in) {
    if (connections != null) {
      return connections[out][in];
    }
    int perGroupIn = inChannels / groups;
    int perGroupOut = outChannels / groups;
    return in / perGroupIn == out / perGroupOut;
  }

  /** A copy of the connection table, or null. */
  public boolean[][] connections() {
    return connections == null ? null : deepCopy(connections);
  }

  public boolean hasBias() {
    return bias;
  }

  public Activation activation() {
    return activation;
  }

  public boolean strict() {
    return strict;
  }

  public int inChannelsPerGroup() {
    return inChannels / groups;
  }

  public int outChannelsPerGroup() {
    return outChannels / groups;
  }

  /** Connected (input channel, output channel) pairs: out * in/groups, or the table's count. */
  public long connectedPairs() {
    return connections != null ? connectedPairs : (long) outChannels * (inChannels / groups);
  }

  /** Length of the dense weight array [out][in/groups][kh][kw] that {@code Conv2d} takes. */
  public long denseWeightCount() {
    return (long) outChannels * (inChannels / groups) * kernelH * kernelW;
  }

  /** Trainable weights: with a connection table, only the connected ones. */
  public long weightCount() {
    return connectedPairs() * kernelH * kernelW;
  }

  /** Weights plus biases. */
  public long parameterCount() {
    return weightCount() + (bias ? outChannels : 0);
  }

  /**
   * Multiply-adds for an input of this shape (connected weights only); an input so large that the
   * count overflows a long is an IllegalArgumentException naming it, never a negative count.
   */
  public long macs(Shape input) {
    Shape out = outputShape(input);
    try {
      return Math.multiplyExact(Math.multiplyExact((long) out.n() * out.h(), out.w()), weightCount());
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(name + ": the multiply-adds for input " + input
          + " overflow a 64-bit count");
    }
  }

  /**
   * The output shape for {@code input} (N, C, H, W); throws if C does not match, if the output
   * would be empty, or (strict mode) if the output size is not a whole number.
   */
  public Shape outputShape(Shape input) {
    if (input.rank() != 4) {
      throw new IllegalArgumentException(
          name + ": expected a 4-d NCHW input, got shape " + input + " (rank " + input.rank() + ")");
    }
    if (input.c() != inChannels) {
      throw new IllegalArgumentException(name + ": expected " + inChannels
          + " input channels, got " + input.c() + " (input shape " + input + ")");
    }
    int oh = outputSize("height", input.h(), padTop, padBottom, kernelH, dilationH, strideH);
    int ow = outputSize("width", input.w(), padLeft, padRight, kernelW, dilationW, strideW);
    return Shape.of(input.n(), outChannels, oh, ow);
  }

  private int outputSize(String axis, int in, int padA, int padB, int k, int d, int s) {
    long span = (long) d * (k - 1) + 1;
    long padded = (long) in + padA + padB;
    // Every input coordinate a kernel forms lies in [-padA, in + padB): it must fit an int.
    if (padded > Shape.MAX_INDEX) {
      throw new IllegalArgumentException(name + ": padded input " + axis + " " + in + " + "
          + padA + " + " + padB + " = " + padded + " is more than the " + Shape.MAX_INDEX
          + " the kernels can index");
    }
    long room = padded - span;
    if (room < 0) {
      throw new IllegalArgumentException(name + ": output " + axis + " would be <= 0: input "
          + axis + " " + in + " + padding " + padA + "+" + padB + " is smaller than the dilated kernel "
          + axis + " " + span);
    }
    if (strict && room % s != 0) {
      throw new IllegalArgumentException(String.format(
          "%s: output %s (%d + %d + %d - %d) / %d + 1 = %.2f is not a whole number (strict mode)",
          name, axis, in, padA, padB, span, s, (double) room / s + 1));
    }
    long out = room / s + 1;
    if (out > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(name + ": output " + axis + " " + out + " is too large");
    }
    return (int) out;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(name).append('[').append(inChannels).append("->")
        .append(outChannels).append(", k").append(kernelH).append('x').append(kernelW);
    if (strideH != 1 || strideW != 1) {
      b.append(", s").append(strideH).append('x').append(strideW);
    }
    if ((padTop | padLeft | padBottom | padRight) != 0) { // a sum could wrap to 0
      b.append(", p").append(padTop).append(',').append(padLeft).append(',').append(padBottom)
          .append(',').append(padRight);
    }
    if (dilationH != 1 || dilationW != 1) {
      b.append(", d").append(dilationH).append('x').append(dilationW);
    }
    if (groups != 1) {
      b.append(", g").append(groups);
    }
    if (connections != null) {
      b.append(", table ").append(connectedPairs).append(" pairs");
    }
    if (bias) {
      b.append(", bias");
    }
    if (activation != Activation.NONE) {
      b.append(", ").append(activation);
    }
    return b.append(']').toString();
  }

  /** A copy; a null row stays null, for {@link Builder#build()} to report by its index. */
  private static boolean[][] deepCopy(boolean[][] t) {
    boolean[][] c = new boolean[t.length][];
    for (int i = 0; i < t.length; i++) {
      c[i] = t[i] == null ? null : t[i].clone();
    }
    return c;
  }

  /** Collects the fields; {@link #build()} validates them all. */
  public static final class Builder {
    private String name = "conv";
    private final int inChannels;
    private final int outChannels;
    private final int kernelH;
    private final int kernelW;
    private int strideH = 1;
    private int strideW = 1;
    private int padTop;
    private int padLeft;
    private int padBottom;
    private int padRight;
    private int dilationH = 1;
    private int dilationW = 1;
    private int groups = 1;
    private boolean[][] connections;
    private boolean bias;
    private Activation activation = Activation.NONE;
    private boolean strict;

    private Builder(int inChannels, int outChannels, int kernelH, int kernelW) {
      this.inChannels = inChannels;
      this.outChannels = outChannels;
      this.kernelH = kernelH;
      this.kernelW = kernelW;
    }

    /** The layer name used in error messages (default "conv"). */
    public Builder name(String name) {
      this.name = name == null || name.isBlank() ? "conv" : name;
      return this;
    }

    public Builder stride(int s) {
      return stride(s, s);
    }

    public Builder stride(int sh, int sw) {
      this.strideH = sh;
      this.strideW = sw;
      return this;
    }

    public Builder padding(int p) {
      return padding(p, p, p, p);
    }

    public Builder padding(int top, int left, int bottom, int right) {
      this.padTop = top;
      this.padLeft = left;
      this.padBottom = bottom;
      this.padRight = right;
      return this;
    }

    public Builder dilation(int d) {
      return dilation(d, d);
    }

    public Builder dilation(int dh, int dw) {
      this.dilationH = dh;
      this.dilationW = dw;
      return this;
    }

    public Builder groups(int g) {
      this.groups = g;
      return this;
    }

    /** A connection table {@code [out][in]}: output o reads input i where it is true. */
    public Builder connections(boolean[][] table) {
      this.connections = table == null ? null : deepCopy(table);
      return this;
    }

    public Builder bias(boolean bias) {
      this.bias = bias;
      return this;
    }

    public Builder activation(Activation activation) {
      this.activation = activation == null ? Activation.NONE : activation;
      return this;
    }

    /** In strict mode an output size that is not a whole number is an error, not floored. */
    public Builder strict(boolean strict) {
      this.strict = strict;
      return this;
    }

    public ConvSpec build() {
      positive("input channels", inChannels);
      positive("output channels", outChannels);
      positive("kernel height", kernelH);
      positive("kernel width", kernelW);
      positive("stride height", strideH);
      positive("stride width", strideW);
      positive("dilation height", dilationH);
      positive("dilation width", dilationW);
      positive("groups", groups);
      nonNegative("padding top", padTop);
      nonNegative("padding left", padLeft);
      nonNegative("padding bottom", padBottom);
      nonNegative("padding right", padRight);
      span("height", kernelH, dilationH);
      span("width", kernelW, dilationW);
      if (inChannels % groups != 0) {
        throw new IllegalArgumentException(name + ": input channels " + inChannels
            + " are not divisible by groups " + groups);
      }
      if (outChannels % groups != 0) {
        throw new IllegalArgumentException(name + ": output channels " + outChannels
            + " are not divisible by groups " + groups);
      }
      if (connections != null) {
        if (groups != 1) {
          throw new IllegalArgumentException(name + ": a connection table needs groups 1, got "
              + groups);
        }
        if (connections.length != outChannels) {
          throw new IllegalArgumentException(name + ": connection table has " + connections.length
              + " rows, expected one per output channel: " + outChannels);
        }
        for (int o = 0; o < outChannels; o++) {
          if (connections[o] == null || connections[o].length != inChannels) {
            throw new IllegalArgumentException(name + ": connection table row " + o + " has "
                + (connections[o] == null ? "no" : String.valueOf(connections[o].length))
                + " entries, expected one per input channel: " + inChannels);
          }
          boolean any = false;
          for (boolean c : connections[o]) {
            any |= c;
          }
          if (!any) {
            throw new IllegalArgumentException(name + ": connection table output " + o
                + " is connected to no input");
          }
        }
      }
      // The dense weights [out][in/groups][kh][kw] are one tensor; so is K = in/groups*kh*kw.
      long dense = saturatedProduct(outChannels, inChannels / groups, kernelH, kernelW);
      if (dense > Shape.MAX_INDEX) {
        throw new IllegalArgumentException(name + ": weights " + outChannels + "x"
            + (inChannels / groups) + "x" + kernelH + "x" + kernelW + " have "
            + (dense == Long.MAX_VALUE ? "more than 2^63" : String.valueOf(dense))
            + " elements, more than the " + Shape.MAX_INDEX + " a tensor holds");
      }
      return new ConvSpec(this);
    }

    /** The product of positive factors, or Long.MAX_VALUE where it would overflow. */
    private static long saturatedProduct(int... factors) {
      long p = 1;
      for (int f : factors) {
        if (p > Long.MAX_VALUE / f) {
          return Long.MAX_VALUE;
        }
        p *= f;
      }
      return p;
    }

    /** The dilated kernel (k - 1) * d + 1 must fit the kernels' int coordinates. */
    private void span(String axis, int k, int d) {
      long span = (long) (k - 1) * d + 1;
      if (span > Shape.MAX_INDEX) {
        throw new IllegalArgumentException(name + ": dilated kernel " + axis + " (" + k + " - 1) * "
            + d + " + 1 = " + span + " is more than the " + Shape.MAX_INDEX
            + " the kernels can index");
      }
    }

    private void positive(String what, int v) {
      if (v < 1) {
        throw new IllegalArgumentException(name + ": " + what + " must be >= 1, got " + v);
      }
    }

    private void nonNegative(String what, int v) {
      if (v < 0) {
        throw new IllegalArgumentException(name + ": " + what + " must be >= 0, got " + v);
      }
    }
  }
}
