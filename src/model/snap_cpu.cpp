// SPDX-License-Identifier: Apache-2.0
// model/snap_cpu: SNAP on the CPU, one atom per loop iteration (threads over atoms).
//
// Per atom i (the adjoint formulation):
//  1. U_tot = sum over neighbors of w_j f_c(r) U(r) (+ the self term on the diagonal), built
//     layer by layer for the half rows and completed by symmetry;
//  2. Z = CG-contracted products of U_tot (stored, one block per element pair);
//  3. B = 2 sum w Re(conj(U_tot) Z) (when the energy, the descriptors or a quadratic model need it);
//  4. beta = dE_i/dB (the coefficients, plus alpha B when quadratic) and the energy;
//  5. Y = dE_i/dU_tot = sum over Z of beta-weighted Z products;
//  6. per neighbor, dU/dr is built by the same recursion and contracted with Y:
//     dE_i/dr_p = 2 w_p sum w Re(conj(f_c' u U + f_c dU) Y).
// Per-pair gradients go to gather_pair_gradients (forces and virial without write conflicts).
#include "snap_cpu.hpp"

#include <algorithm>
#include <cmath>

#include "batchmd/core/parallel.hpp"
#include "batchmd/core/simd_clones.hpp"

namespace batchmd::model::detail {

SnapTables::SnapTables(const SNAPParams& p, const ElementPairs& pairs, bool lammps_chem_adjoint)
    : basis(p.twojmax, p.bnormflag, lammps_chem_adjoint) {
  p.validate();
  const int ne = static_cast<int>(p.elements.size());
  auto& s = scalars;
  s.rfac0 = p.rfac0;
  s.rmin0 = p.rmin0;
  s.switchflag = p.switchflag;
  s.switchinner = p.switchinnerflag;
  s.bnorm = p.bnormflag;
  s.bzero = p.bzeroflag;
  s.wselfall = p.wselfallflag;
  s.quadratic = p.quadraticflag;
  s.chem = p.chemflag;
  s.n_elem = ne;
  s.n_u = p.chemflag ? ne : 1;
  s.n_b = basis.n_b();
  s.n_coeff = s.n_b * s.n_u * s.n_u * s.n_u;
  s.twojmax = p.twojmax;
  n_all = p.coefficients_per_element();
  for (const auto& e : p.elements) {
    coeff.insert(coeff.end(), e.coefficients.begin(), e.coefficients.end());
    radius.push_back(e.radius);
    weight.push_back(e.weight);
  }
  sinner = p.switchinnerflag ? p.sinner : std::vector<double>(ne, 0.0);
  dinner = p.switchinnerflag ? p.dinner : std::vector<double>(ne, 0.0);
  cutoff.resize(static_cast<std::size_t>(ne * ne));
  for (int a = 0; a < ne; ++a)
    for (int b = 0; b < ne; ++b)
      cutoff[a * ne + b] =
          pairs.allows(p.elements[a].atomic_number, p.elements[b].atomic_number) ? p.cutoff(a, b) : 0.0;
}

namespace {

template <typename T>
struct Workspace {
  std::vector<T> ur, ui;  // [n_u][n_uf] U_tot per element set
  std::vector<T> nr, ni;  // [n_uf] one neighbor's U
  std::vector<T> dr, di;  // [n_uf][3] its derivatives
  std::vector<T> zr, zi;  // [n_u^2][n_z]
  std::vector<T> b, beta;
  std::vector<T> yr, yi;  // [n_u][n_uf]
  void size(const SnapTables& t) {
    const auto nu = static_cast<std::size_t>(t.scalars.n_u), nf = static_cast<std::size_t>(t.basis.n_u);
    const auto nz = static_cast<std::size_t>(t.basis.n_z()), nc = static_cast<std::size_t>(t.scalars.n_coeff);
    ur.resize(nu * nf);
    ui.resize(nu * nf);
    nr.resize(nf);
    ni.resize(nf);
    dr.resize(3 * nf);
    di.resize(3 * nf);
    zr.resize(nu * nu * nz);
    zi.resize(nu * nu * nz);
    b.resize(nc);
    beta.resize(nc);
    yr.resize(nu * nf);
    yi.resize(nu * nf);
  }
};

template <typename T>
struct Typed {
  std::vector<T> rootpq, cg;
  explicit Typed(const SnapBasis& b) : rootpq(b.rootpq.begin(), b.rootpq.end()), cg(b.cg.begin(), b.cg.end()) {}
};

// Mirrors row `mb` (2 mb < j) of layer j into row j - mb: U(j-ma, j-mb) = (-1)^(ma-mb) conj(U(ma, mb)).
template <typename T>
inline void mirror_row(const SnapBasis& B, int j, int mb, T* re, T* im) {
  const int base = B.u_block[j];
  for (int ma = 0; ma <= j; ++ma) {
    const int src = base + mb * (j + 1) + ma, dst = base + (j - mb) * (j + 1) + (j - ma);
    const T s = static_cast<T>(snap_mirror_sign(ma, mb));
    re[dst] = s * re[src];
    im[dst] = -s * im[src];
  }
}

template <typename T>
inline void mirror_row_d(const SnapBasis& B, int j, int mb, T* re, T* im) {
  const int base = B.u_block[j];
  for (int ma = 0; ma <= j; ++ma) {
    const int src = base + mb * (j + 1) + ma, dst = base + (j - mb) * (j + 1) + (j - ma);
    const T s = static_cast<T>(snap_mirror_sign(ma, mb));
    for (int k = 0; k < 3; ++k) {
      re[3 * dst + k] = s * re[3 * src + k];
      im[3 * dst + k] = -s * im[3 * src + k];
    }
  }
}

template <typename T>
struct AtomPass {
  const SnapTables& t;
  const Typed<T>& ty;
  const NeighborView<T>& v;
  SnapScalars<T> sc;

  AtomPass(const SnapTables& tables, const Typed<T>& typed, const NeighborView<T>& view)
      : t(tables), ty(typed), v(view) {
    const auto& d = tables.scalars;
    sc.rfac0 = static_cast<T>(d.rfac0);
    sc.rmin0 = static_cast<T>(d.rmin0);
    sc.switchflag = d.switchflag;
    sc.switchinner = d.switchinner;
    sc.bnorm = d.bnorm;
    sc.bzero = d.bzero;
    sc.wselfall = d.wselfall;
    sc.quadratic = d.quadratic;
    sc.chem = d.chem;
    sc.n_elem = d.n_elem;
    sc.n_u = d.n_u;
    sc.n_b = d.n_b;
    sc.n_coeff = d.n_coeff;
    sc.twojmax = d.twojmax;
  }

  void neighbor(std::int32_t si, std::int64_t p, bool derivs, SnapNeighbor<T>& c) const {
    const std::int32_t sj = v.species[p];
    const int ne = sc.n_elem;
    const T* r = v.rij.data() + 3 * p;
    snap_neighbor(sc, r[0], r[1], r[2], static_cast<T>(t.cutoff[si * ne + sj]), static_cast<T>(t.weight[sj]),
                  static_cast<T>(0.5 * (t.sinner[si] + t.sinner[sj])),
                  static_cast<T>(0.5 * (t.dinner[si] + t.dinner[sj])), derivs, c);
  }

  // One neighbor's U, half rows of every layer (plus the row of an odd layer the next needs).
  void neighbor_u(const SnapNeighbor<T>& c, T* re, T* im) const {
    const SnapBasis& B = t.basis;
    const int J = B.twojmax, jdim = J + 1;
    re[0] = 1;
    im[0] = 0;
    for (int j = 1; j <= J; ++j) {
      const int base = B.u_block[j], prev = B.u_block[j - 1];
      for (int mb = 0; 2 * mb <= j; ++mb) {
        const T* pr = re + prev + mb * j;
        const T* pi = im + prev + mb * j;
        for (int ma = 0; ma <= j; ++ma)
          snap_u_entry(j, ma, mb, ty.rootpq.data(), jdim, SnapSplitRow<T>{pr, pi}, c, re[base + mb * (j + 1) + ma],
                       im[base + mb * (j + 1) + ma]);
      }
      if (j & 1) mirror_row(B, j, (j - 1) / 2, re, im);
    }
  }

  [[gnu::always_inline]] inline void run(std::int64_t i, std::int32_t si, Workspace<T>& w,
                                         const SnapCpuOut<T>& out) const {
    const SnapBasis& B = t.basis;
    const int J = B.twojmax, jdim = J + 1;
    const int nu = sc.n_u, nf = B.n_u, nz = B.n_z(), nb = sc.n_b;
    const int ei = sc.chem ? si : 0;  // this atom's element set
    const std::int64_t p0 = v.offsets[i], p1 = v.offsets[i + 1];

    // 1. U_tot.
    std::fill(w.ur.begin(), w.ur.end(), T(0));
    std::fill(w.ui.begin(), w.ui.end(), T(0));
    for (int e = 0; e < nu; ++e)
      if (e == ei || sc.wselfall)
        for (int j = 0; j <= J; ++j)
          for (int ma = 0; ma <= j; ++ma) w.ur[e * nf + B.u_block[j] + ma * (j + 1) + ma] = T(1);
    SnapNeighbor<T> c;
    for (std::int64_t p = p0; p < p1; ++p) {
      neighbor(si, p, false, c);
      neighbor_u(c, w.nr.data(), w.ni.data());
      const int e = sc.chem ? v.species[p] : 0;
      T* tr = w.ur.data() + e * nf;
      T* ti = w.ui.data() + e * nf;
      for (int j = 0; j <= J; ++j) {
        const int lo = B.u_block[j], hi = lo + (j / 2 + 1) * (j + 1);
        for (int k = lo; k < hi; ++k) {
          tr[k] += c.sfac * w.nr[k];
          ti[k] += c.sfac * w.ni[k];
        }
      }
    }
    for (int e = 0; e < nu; ++e)
      for (int j = 1; j <= J; ++j)
        for (int mb = 0; 2 * mb < j; ++mb) mirror_row(B, j, mb, w.ur.data() + e * nf, w.ui.data() + e * nf);

    // 2. Z per element pair.
    for (int e1 = 0; e1 < nu; ++e1)
      for (int e2 = 0; e2 < nu; ++e2) {
        T* zr = w.zr.data() + (e1 * nu + e2) * nz;
        T* zi = w.zi.data() + (e1 * nu + e2) * nz;
        for (int q = 0; q < nz; ++q) {
          const SnapZIndex& e = B.z[q];
          snap_z_entry(e, ty.cg.data(), B.u_block.data(), w.ur.data() + e1 * nf, w.ui.data() + e1 * nf,
                       w.ur.data() + e2 * nf, w.ui.data() + e2 * nf, 1, zr[q], zi[q]);
          if (sc.bnorm) {
            zr[q] /= static_cast<T>(e.j + 1);
            zi[q] /= static_cast<T>(e.j + 1);
          }
        }
      }

    // 3. B, when needed.
    const bool need_b = out.atom_energy != nullptr || out.descriptors != nullptr || sc.quadratic;
    if (need_b) {
      for (int e1 = 0; e1 < nu; ++e1)
        for (int e2 = 0; e2 < nu; ++e2)
          for (int e3 = 0; e3 < nu; ++e3) {
            const T* zr = w.zr.data() + (e1 * nu + e2) * nz;
            const T* zi = w.zi.data() + (e1 * nu + e2) * nz;
            const T* ur = w.ur.data() + e3 * nf;
            const T* ui = w.ui.data() + e3 * nf;
            const int triple = (e1 * nu + e2) * nu + e3;
            const bool shift = sc.bzero && (sc.wselfall || (e1 == ei && e2 == ei && e3 == ei));
            for (int q = 0; q < nb; ++q) {
              const SnapBIndex& bi = B.b[q];
              const int j = bi.j;
              T sum = 0;
              for (int mb = 0; 2 * mb < j; ++mb)
                for (int ma = 0; ma <= j; ++ma) {
                  const int o = mb * (j + 1) + ma;
                  sum += ur[bi.jju + o] * zr[bi.jjz + o] + ui[bi.jju + o] * zi[bi.jjz + o];
                }
              if (j % 2 == 0) {
                const int mb = j / 2;
                for (int ma = 0; ma < mb; ++ma) {
                  const int o = mb * (j + 1) + ma;
                  sum += ur[bi.jju + o] * zr[bi.jjz + o] + ui[bi.jju + o] * zi[bi.jjz + o];
                }
                const int o = mb * (j + 1) + mb;
                sum += T(0.5) * (ur[bi.jju + o] * zr[bi.jjz + o] + ui[bi.jju + o] * zi[bi.jjz + o]);
              }
              T bval = 2 * sum;
              if (shift) bval -= snap_bzero<T>(j, sc.bnorm);
              w.b[triple * nb + q] = bval;
            }
          }
      if (out.descriptors != nullptr)
        for (int k = 0; k < sc.n_coeff; ++k) out.descriptors[i * sc.n_coeff + k] = static_cast<double>(w.b[k]);
    }

    // 4. beta and the energy.
    const double* cf = t.coeff.data() + static_cast<std::size_t>(si) * t.n_all;
    const int K = sc.n_coeff;
    for (int k = 0; k < K; ++k) w.beta[k] = static_cast<T>(cf[k + 1]);
    if (sc.quadratic) {
      int q = K + 1;
      for (int k = 0; k < K; ++k) {
        const T bk = w.b[k];
        w.beta[k] += static_cast<T>(cf[q++]) * bk;
        for (int l = k + 1; l < K; ++l) {
          const T a = static_cast<T>(cf[q++]);
          w.beta[k] += a * w.b[l];
          w.beta[l] += a * bk;
        }
      }
    }
    if (out.atom_energy != nullptr) {
      double e = cf[0];
      for (int k = 0; k < K; ++k) e += cf[k + 1] * double(w.b[k]);
      if (sc.quadratic) {
        int q = K + 1;
        for (int k = 0; k < K; ++k) {
          const double bk = w.b[k];
          e += 0.5 * cf[q++] * bk * bk;
          for (int l = k + 1; l < K; ++l) e += cf[q++] * bk * double(w.b[l]);
        }
      }
      out.atom_energy[i] = static_cast<T>(e);
    }
    if (out.pair_gradient == nullptr) return;

    // 5. Y = dE_i / dU_tot (half rows).
    std::fill(w.yr.begin(), w.yr.end(), T(0));
    std::fill(w.yi.begin(), w.yi.end(), T(0));
    for (int e1 = 0; e1 < nu; ++e1)
      for (int e2 = 0; e2 < nu; ++e2) {
        const T* zr = w.zr.data() + (e1 * nu + e2) * nz;
        const T* zi = w.zi.data() + (e1 * nu + e2) * nz;
        for (int q = 0; q < nz; ++q) {
          const SnapZIndex& e = B.z[q];
          for (int e3 = 0; e3 < nu; ++e3) {
            const T bj = snap_y_beta(e, w.beta.data(), nb, e1, e2, e3, nu);
            w.yr[e3 * nf + e.jju] += bj * zr[q];
            w.yi[e3 * nf + e.jju] += bj * zi[q];
          }
        }
      }

    // 6. dE_i/dr_p for every neighbor.
    T* nr = w.nr.data();
    T* ni = w.ni.data();
    T* dr = w.dr.data();
    T* di = w.di.data();
    for (std::int64_t p = p0; p < p1; ++p) {
      neighbor(si, p, true, c);
      const int e = sc.chem ? v.species[p] : 0;
      const T* yr = w.yr.data() + e * nf;
      const T* yi = w.yi.data() + e * nf;
      nr[0] = 1;
      ni[0] = 0;
      for (int k = 0; k < 3; ++k) dr[k] = di[k] = 0;
      T s0 = T(0.5) * yr[0];  // layer 0: U = 1, weight 1/2
      T s[3] = {0, 0, 0};
      for (int j = 1; j <= J; ++j) {
        const int base = B.u_block[j], prev = B.u_block[j - 1];
        for (int mb = 0; 2 * mb <= j; ++mb) {
          const int po = prev + mb * j;
          for (int ma = 0; ma <= j; ++ma) {
            const int o = base + mb * (j + 1) + ma;
            snap_du_entry(j, ma, mb, ty.rootpq.data(), jdim,
                          SnapSplitRow<T>{nr + po, ni + po, dr + 3 * po, di + 3 * po}, c, nr[o], ni[o], dr + 3 * o,
                          di + 3 * o);
            T wgt = 1;
            if (2 * mb == j) {
              if (ma > mb) continue;
              if (ma == mb) wgt = T(0.5);
            }
            s0 += wgt * (nr[o] * yr[o] + ni[o] * yi[o]);
            for (int k = 0; k < 3; ++k) s[k] += wgt * (dr[3 * o + k] * yr[o] + di[3 * o + k] * yi[o]);
          }
        }
        if (j & 1) {
          mirror_row(B, j, (j - 1) / 2, nr, ni);
          mirror_row_d(B, j, (j - 1) / 2, dr, di);
        }
      }
      T* g = out.pair_gradient + 3 * p;
      g[0] = 2 * (c.dsfac * c.ux * s0 + c.sfac * s[0]);
      g[1] = 2 * (c.dsfac * c.uy * s0 + c.sfac * s[1]);
      g[2] = 2 * (c.dsfac * c.uz * s0 + c.sfac * s[2]);
    }
  }
};

// One atom, compiled for AVX-512 and AVX2 (with FMA) besides the baseline ISA; the loader picks
// the best the CPU supports (simd_clones.hpp).
BATCHMD_SIMD_CLONES void snap_atom_d(const AtomPass<double>& pass, std::int64_t i, std::int32_t si,
                                     Workspace<double>& w, const SnapCpuOut<double>& out) {
  pass.run(i, si, w, out);
}
BATCHMD_SIMD_CLONES void snap_atom_f(const AtomPass<float>& pass, std::int64_t i, std::int32_t si, Workspace<float>& w,
                                     const SnapCpuOut<float>& out) {
  pass.run(i, si, w, out);
}
#undef BATCHMD_SIMD_CLONES
inline void snap_atom(const AtomPass<double>& pass, std::int64_t i, std::int32_t si, Workspace<double>& w,
                      const SnapCpuOut<double>& out) {
  snap_atom_d(pass, i, si, w, out);
}
inline void snap_atom(const AtomPass<float>& pass, std::int64_t i, std::int32_t si, Workspace<float>& w,
                      const SnapCpuOut<float>& out) {
  snap_atom_f(pass, i, si, w, out);
}

}  // namespace

template <typename T>
void snap_compute_cpu(const SnapTables& tables, const NeighborView<T>& view, const std::int32_t* species,
                      const SnapCpuOut<T>& out) {
  const Typed<T> typed(tables.basis);
  const AtomPass<T> pass(tables, typed, view);
  const std::int64_t na = view.n_atoms;
  parallel_for_dynamic(na, [&](std::int64_t i) {
    static thread_local Workspace<T> w;
    const std::int32_t si = species[i];
    if (si < 0) {
      if (out.atom_energy != nullptr) out.atom_energy[i] = T(0);
      if (out.descriptors != nullptr)
        std::fill(out.descriptors + i * tables.scalars.n_coeff, out.descriptors + (i + 1) * tables.scalars.n_coeff,
                  0.0);
      // An ignored atom has no pairs in the view, so there are no gradients to set.
      return;
    }
    w.size(tables);
    snap_atom(pass, i, si, w, out);
  });
}

template void snap_compute_cpu<float>(const SnapTables&, const NeighborView<float>&, const std::int32_t*,
                                      const SnapCpuOut<float>&);
template void snap_compute_cpu<double>(const SnapTables&, const NeighborView<double>&, const std::int32_t*,
                                       const SnapCpuOut<double>&);

}  // namespace batchmd::model::detail
