// SPDX-License-Identifier: Apache-2.0
// core/vec3: the small 3-vector math of host/device code — a Vec3 value type and the same
// operations on raw double[3] pointers and row-major 3×3 matrices (double[9], rows a, b, c as in
// a batch's "cell"), for code that reads vectors straight out of arrays.
//
// Each function evaluates its terms in the order written (a0 b0 + a1 b1 + a2 b2, left to right),
// so two callers that use it get the same bits; keep it that way (no reassociation, no fma()).
// Vec3 is a trivial aggregate (no constructors), so it can live in CUDA __shared__ memory and be
// brace-initialised: Vec3 v{1.0, 0.0, 0.0}.
#pragma once
#include "batchmd/core/hd.hpp"

namespace batchmd {

struct Vec3 {
  double v[3];
  BATCHMD_HD double& operator[](int i) { return v[i]; }
  BATCHMD_HD const double& operator[](int i) const { return v[i]; }
};

BATCHMD_HD inline double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
BATCHMD_HD inline Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
BATCHMD_HD inline double norm(const Vec3& a) { return hd::sqrt(dot(a, a)); }
/// a · (b × c): the signed volume of the parallelepiped spanned by rows a, b, c.
BATCHMD_HD inline double triple(const Vec3& a, const Vec3& b, const Vec3& c) { return dot(a, cross(b, c)); }

// Raw-pointer forms: a, b point at three consecutive doubles; rows at nine (row-major).
BATCHMD_HD inline double dot3(const double* a, const double* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
BATCHMD_HD inline Vec3 load3(const double* a) { return {a[0], a[1], a[2]}; }
/// Row d of a row-major 3×3 matrix.
BATCHMD_HD inline Vec3 row3(const double* rows, int d) { return load3(rows + 3 * d); }
/// Element e of row d of a 3×3 matrix, given row-major (double[9], a cell) or as rows (Vec3[3],
/// a frame's): so that one function body serves both forms.
BATCHMD_HD inline double row_element(const double* rows, int d, int e) { return rows[3 * d + e]; }
BATCHMD_HD inline double row_element(const Vec3* rows, int d, int e) { return rows[d][e]; }

}  // namespace batchmd
