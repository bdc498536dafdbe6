// Prepended to every kernel that ends in an epilogue. The codes are io.convkit.conv.Activation's:
// 0 none, 1 ReLU, 2 ReLU6. A run-time argument, not a build option: one program serves all three,
// and the branch is uniform across a launch.
inline float ck_activate(float v, int act) {
  if (act == 1) {
    return fmax(v, 0.0f);
  }
  if (act == 2) {
    return fmin(fmax(v, 0.0f), 6.0f);
  }
  return v;
}

inline float8 ck_activate8(float8 v, int act) {
  if (act == 1) {
    return fmax(v, (float8)(0.0f));
  }
  if (act == 2) {
    return fmin(fmax(v, (float8)(0.0f)), (float8)(6.0f));
  }
  return v;
}
