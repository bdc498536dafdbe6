package io.convkit.nn.models;

import io.convkit.conv.ConvSpec;
import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.nn.RbfOutput;
import io.convkit.nn.Subsampling;
import io.convkit.tensor.Shape;

/**
 * LeNet-5 and a CIFAR-sized LeNet.
 *
 * <p>{@code lenet5}: LeCun, Bottou, Bengio, Haffner, "Gradient-based learning applied to document
 * recognition", Proc. IEEE 1998, section II.B and Fig. 2; C3's connections from Table I. Input
 * 32x32. C1: 6 maps 5x5 (156 parameters); S2: 2x2 trainable subsampling (12); C3: 16 maps 5x5 over
 * the Table I subsets of S2 (1,516 parameters, 151,600 connections); S4 (32); C5: 120 maps 5x5
 * (48,120); F6: 84 units (10,164); output: 10 Euclidean RBF units whose 84-vectors are fixed by
 * hand (840, stored but not trained). Squashing function A tanh(S a) after C1..F6. Trained total
 * 60,000; the paper's "340,908 connections" is the sum of the per-layer connection counts.
 *
 * <p>{@code lenet_cifar}: the PyTorch LeNet of the course notes (source table T10): conv 3->64
 * 5x5, max pool 2, conv 64->128 5x5, max pool 2, FC 3200->1024, FC 1024->1024, FC 1024->10,
 * ReLU after each hidden layer, input 3x32x32.
 */
public final class LeNet {
  private LeNet() {}

  /** LeNet-5 C3's connection table (LeCun et al. 1998, Table I): [output map][S2 map]. */
  public static boolean[][] c3Table() {
    String[] cols = {
      "012", "123", "234", "345", "045", "015", "0123", "1234", "2345", "0345", "0145", "0125",
      "0134", "1245", "0235", "012345"
    };
    boolean[][] t = new boolean[16][6];
    for (int o = 0; o < 16; o++) {
      for (char ch : cols[o].toCharArray()) {
        t[o][ch - '0'] = true;
      }
    }
    return t;
  }

  static Network lenet5(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("lenet5", Shape.of(1, 1, 32, 32));
    b.conv("c1", 6, 5, 1, 0).act(Act.Kind.TANH);
    b.layer("s2", new Subsampling(6, 2)).act(Act.Kind.TANH);
    b.conv("c3", ConvSpec.builder(6, 16, 5, 5).name("c3").connections(c3Table()).bias(true)
        .build()).act(Act.Kind.TANH);
    b.layer("s4", new Subsampling(16, 2)).act(Act.Kind.TANH);
    b.conv("c5", 120, 5, 1, 0).act(Act.Kind.TANH);
    b.fc("f6", 84, true).act(Act.Kind.TANH);
    b.layer("output", new RbfOutput(84, 10));
    return b.build();
  }

  static Network lenetCifar(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("lenet_cifar", Shape.of(1, 3, 32, 32));
    b.conv("conv1", 64, 5, 1, 0).relu().maxPool(2, 2, 0);
    b.conv("conv2", 128, 5, 1, 0).relu().maxPool(2, 2, 0);
    b.flatten();
    b.fc("fc1", 1024, true).relu();
    b.fc("fc2", 1024, true).relu();
    b.fc("fc3", 10, true);
    return b.build();
  }
}
