package io.convkit.engine;

/** Lets the OpenCL test (another package) run {@link ChannelOpsTest}'s argument checks. */
public final class ChannelOpsTestAccess {
  private ChannelOpsTestAccess() {}

  public static void badArguments(Engine e) {
    ChannelOpsTest.badArguments(e);
  }
}
