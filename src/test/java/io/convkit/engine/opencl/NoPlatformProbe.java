package io.convkit.engine.opencl;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;

/**
 * Run in a child JVM by {@link NoPlatformTest} with the OpenCL loader pointed at an empty vendor
 * directory: prints what {@code Engines.openCl()} throws and which engine {@code Engines.best()}
 * chose.
 */
public final class NoPlatformProbe {
  private NoPlatformProbe() {}

  public static void main(String[] args) {
    try (Engine e = Engines.openCl()) {
      System.out.println("openCl: opened " + e.name());
    } catch (OpenClException e) {
      System.out.println("openCl: " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
    try (Engine e = Engines.best()) {
      System.out.println("best: " + e.name());
    }
  }
}
