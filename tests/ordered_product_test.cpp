// The fixed-order products (numerics/ordered_product.hpp): bit for bit against the plain scalar triple loop
// they promise to equal, in both instruction sets, over shapes that exercise every edge of the
// register blocks and more than one pass over l; and against Eigen's products (a second algorithm)
// to rounding.

#include "zeroloss/numerics/ordered_product.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"

using namespace zeroloss;

namespace {

enum class Form { Plain, Transposed };

// The reference: c_ij (= 0 for Assign) then c_ij +/-= a_il b_lj for l = 0, 1, ... in that order.
// The project compiles with -ffp-contract=off, so each line is one rounded product and one sum.
Eigen::MatrixXd reference(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, const Eigen::MatrixXd& C0,
                          ProductUpdate update) {
  Eigen::MatrixXd C = C0;
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    for (Eigen::Index j = 0; j < B.cols(); ++j) {
      double s = update == ProductUpdate::Assign ? 0.0 : C(i, j);
      for (Eigen::Index l = 0; l < A.cols(); ++l) {
        const double p = A(i, l) * B(l, j);
        s = update == ProductUpdate::Subtract ? s - p : s + p;
      }
      C(i, j) = s;
    }
  }
  return C;
}

bool same_bits(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y) {
  return X.rows() == Y.rows() && X.cols() == Y.cols() &&
         std::memcmp(X.data(), Y.data(), sizeof(double) * static_cast<std::size_t>(X.size())) == 0;
}

std::vector<InstructionSet> instruction_sets() {
  std::vector<InstructionSet> sets{InstructionSet::Baseline};
  if (cpu_has_avx2()) sets.push_back(InstructionSet::Avx2);
  return sets;
}

const char* name(ProductUpdate u) {
  return u == ProductUpdate::Assign ? "assign" : u == ProductUpdate::Add ? "add" : "subtract";
}

}  // namespace

TEST(OrderedProduct, EqualsTheScalarTripleLoopBitForBitInBothInstructionSets) {
  // Rows cover the 8-, 4-, 2- and 1-row blocks and their combinations, columns the 6-column blocks
  // and the 1..5 remainders; L = 1000 at M = 100 takes several passes over l (the pass depth is 327
  // there when B is read by columns, 96 when by rows), as does L = 5000 at M = 9.
  const int rows[] = {1, 2, 3, 5, 7, 8, 9, 13, 17, 100};
  const int cols[] = {1, 2, 3, 4, 5, 6, 7, 13};
  unsigned seed = 1;
  for (InstructionSet set : instruction_sets()) {
    for (int M : rows) {
      std::vector<int> depths{0, 1, 2, 7, 64, 1000};
      if (M == 9) depths.push_back(5000);
      for (int N : cols) {
        for (int L : depths) {
          const Eigen::MatrixXd A = test::random_matrix(M, L, seed++);
          const Eigen::MatrixXd B = test::random_matrix(L, N, seed++);
          const Eigen::MatrixXd C0 = test::random_matrix(M, N, seed++);
          for (ProductUpdate u : {ProductUpdate::Assign, ProductUpdate::Add, ProductUpdate::Subtract}) {
            SCOPED_TRACE(testing::Message()
                         << to_string(set) << " M=" << M << " N=" << N << " L=" << L << " " << name(u));
            const Eigen::MatrixXd expected = reference(A, B, C0, u);
            Eigen::MatrixXd C = C0;
            ordered_product(A, B, C, u, set);
            EXPECT_TRUE(same_bits(C, expected));
            Eigen::MatrixXd Ct = C0;
            const Eigen::MatrixXd Bt = B.transpose();
            ordered_product_transposed(A, Bt, Ct, u, set);
            EXPECT_TRUE(same_bits(Ct, expected));
          }
        }
      }
    }
  }
}

TEST(OrderedProduct, WorksOnBlocksOfLargerMatrices) {
  // Operands with outer strides larger than their row counts (Eigen blocks); the rest of the output
  // matrix is left untouched.
  const Eigen::MatrixXd bigA = test::random_matrix(40, 300, 3);
  const Eigen::MatrixXd bigB = test::random_matrix(310, 30, 4);
  for (InstructionSet set : instruction_sets()) {
    Eigen::MatrixXd bigC = test::random_matrix(50, 40, 5);
    const Eigen::MatrixXd before = bigC;
    const auto A = bigA.block(3, 10, 21, 250);
    const auto B = bigB.block(7, 2, 250, 11);
    const Eigen::MatrixXd expected = reference(A, B, before.block(5, 6, 21, 11), ProductUpdate::Add);
    ordered_product(A, B, bigC.block(5, 6, 21, 11), ProductUpdate::Add, set);
    EXPECT_TRUE(same_bits(bigC.block(5, 6, 21, 11), expected)) << to_string(set);
    Eigen::MatrixXd rest = bigC;
    rest.block(5, 6, 21, 11) = before.block(5, 6, 21, 11);
    EXPECT_TRUE(same_bits(rest, before)) << to_string(set);
  }
}

TEST(OrderedProduct, GramMatrixIsTheTransposedProductAndExactlySymmetric) {
  for (InstructionSet set : instruction_sets()) {
    for (int M : {1, 3, 6, 8, 11, 100}) {
      for (int L : {1, 5, 1000}) {
        SCOPED_TRACE(testing::Message() << to_string(set) << " M=" << M << " L=" << L);
        const Eigen::MatrixXd A = test::random_matrix(M, L, 100 + M + L);
        Eigen::MatrixXd G(M, M);
        ordered_gram(A, G, set);
        const Eigen::MatrixXd expected =
            reference(A, A.transpose(), Eigen::MatrixXd::Zero(M, M), ProductUpdate::Assign);
        EXPECT_TRUE(same_bits(G, expected));  // a_il a_jl = a_jl a_il exactly,
                                              // so the loop is symmetric too
        EXPECT_TRUE(same_bits(G, Eigen::MatrixXd(G.transpose())));
      }
    }
  }
}

TEST(OrderedProduct, LowerTriangularProductIsTheLoopOverLUpToI) {
  for (InstructionSet set : instruction_sets()) {
    for (int M : {1, 2, 5, 8, 13, 100, 333}) {
      for (int N : {1, 6, 7, 50}) {
        SCOPED_TRACE(testing::Message() << to_string(set) << " M=" << M << " N=" << N);
        const Eigen::MatrixXd L = test::random_matrix(M, M, 500 + M).triangularView<Eigen::Lower>();
        const Eigen::MatrixXd B = test::random_matrix(M, N, 600 + N);
        Eigen::MatrixXd expected(M, N);
        for (int i = 0; i < M; ++i)
          for (int j = 0; j < N; ++j) {
            double s = 0.0;
            for (int l = 0; l <= i; ++l) s = s + L(i, l) * B(l, j);
            expected(i, j) = s;
          }
        Eigen::MatrixXd C(M, N);
        ordered_lower_triangular_product(L, B, C, set);
        EXPECT_TRUE(same_bits(C, expected));
      }
    }
  }
  Eigen::MatrixXd C(3, 2);
  EXPECT_THROW(ordered_lower_triangular_product(test::random_matrix(3, 4, 1), test::random_matrix(4, 2, 2), C),
               InputError);
}

TEST(OrderedProduct, AgreesWithEigenToRounding) {
  // A second algorithm (Eigen's blocked product, another summation order): equal to a few eps * |A|
  // |B| per entry.
  const Eigen::MatrixXd A = test::random_matrix(100, 1000, 11);
  const Eigen::MatrixXd B = test::random_matrix(1000, 37, 12);
  Eigen::MatrixXd C(100, 37), G(100, 100);
  ordered_product(A, B, C);
  ordered_gram(A, G);
  const Eigen::MatrixXd eigen_C = A * B, eigen_G = A * A.transpose();
  const Eigen::MatrixXd scale_C = A.cwiseAbs() * B.cwiseAbs(), scale_G = A.cwiseAbs() * A.cwiseAbs().transpose();
  EXPECT_LT(((C - eigen_C).cwiseQuotient(scale_C)).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_LT(((G - eigen_G).cwiseQuotient(scale_G)).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_GT((C - eigen_C).cwiseAbs().maxCoeff(), 0.0) << "not a second algorithm: Eigen gave the same bits";
}

TEST(OrderedProduct, RefusesMismatchedSizesAndAliasedOutputs) {
  const Eigen::MatrixXd A = test::random_matrix(4, 5, 1), B = test::random_matrix(6, 3, 2);
  Eigen::MatrixXd C(4, 3);
  try {
    ordered_product(A, B, C);
    FAIL() << "mismatched inner sizes accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("A is 4 x 5 and B is 6 x 3"), std::string::npos) << e.what();
  }
  Eigen::MatrixXd wrong(3, 3);
  const Eigen::MatrixXd B2 = test::random_matrix(5, 3, 3);
  try {
    ordered_product(A, B2, wrong);
    FAIL() << "wrong output size accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the output is 3 x 3; expected 4 x 3"), std::string::npos) << e.what();
  }
  Eigen::MatrixXd S = test::random_matrix(5, 5, 4);
  EXPECT_THROW(ordered_product(S, S.block(0, 0, 5, 2), S.block(0, 3, 5, 2)), InputError);
  EXPECT_THROW(ordered_gram(S.block(0, 0, 2, 5), S.block(0, 0, 2, 2)), InputError);
  EXPECT_THROW(ordered_product_transposed(S.block(0, 0, 2, 2), S.block(3, 0, 2, 2), S.block(0, 0, 2, 2)), InputError);
  Eigen::MatrixXd G(4, 4);
  if (!cpu_has_avx2()) {
    EXPECT_THROW(ordered_gram(A, G, InstructionSet::Avx2), InputError);
  }
}

namespace {

// Forces the threaded products' settings for one test and restores the defaults afterwards.
struct ProductThreadSetting {
  ProductThreadSetting(int threads, double min_work) {
    set_product_threads(threads);
    set_threaded_product_min_work(min_work);
  }
  ~ProductThreadSetting() {
    set_product_threads(0);
    set_threaded_product_min_work(-1);
  }
};

}  // namespace

// Split over 1, 2, 3 and 5 threads (threshold forced to 0), every column count from one block of
// 6 to uneven ranges and every update: the bits of the scalar triple loop.
TEST(OrderedProductThreaded, EqualsTheScalarTripleLoopBitForBitOnAnyNumberOfThreads) {
  unsigned seed = 500;
  for (InstructionSet set : instruction_sets()) {
    for (int threads : {1, 2, 3, 5}) {
      const ProductThreadSetting setting(threads, 0);
      for (int N : {1, 5, 6, 7, 13, 37, 100}) {
        for (int M : {3, 17, 100}) {
          const int L = 300;
          const Eigen::MatrixXd A = test::random_matrix(M, L, seed++);
          const Eigen::MatrixXd B = test::random_matrix(L, N, seed++);
          const Eigen::MatrixXd C0 = test::random_matrix(M, N, seed++);
          for (ProductUpdate u : {ProductUpdate::Assign, ProductUpdate::Add, ProductUpdate::Subtract}) {
            SCOPED_TRACE(testing::Message() << to_string(set) << " threads=" << threads << " M=" << M << " N=" << N
                                            << " " << name(u));
            Eigen::MatrixXd C = C0;
            ordered_product_threaded(A, B, C, u, set);
            EXPECT_TRUE(same_bits(C, reference(A, B, C0, u)));
          }
        }
      }
    }
  }
}

// Above the default threshold (the Lanczos operator's shape at n = p = 100, m = 250: 2.5e6
// multiply-adds), 1, 2 and 3 threads give the same bits, those of ordered_product.
TEST(OrderedProductThreaded, AboveTheDefaultThresholdTheThreadCountDoesNotChangeTheBits) {
  const Eigen::MatrixXd A = test::random_matrix(100, 100, 7), B = test::random_matrix(100, 250, 8);
  ASSERT_GE(100.0 * 100.0 * 250.0, kThreadedProductMinWork);
  Eigen::MatrixXd single(100, 250);
  ordered_product(A, B, single);
  for (int threads : {1, 2, 3}) {
    const ProductThreadSetting setting(threads, -1);
    EXPECT_EQ(threads_for_product(100, 250, 100), threads);
    Eigen::MatrixXd C(100, 250);
    ordered_product_threaded(A, B, C);
    EXPECT_TRUE(same_bits(C, single)) << threads << " threads";
  }
}

TEST(OrderedProductThreaded, ThreadCountFollowsTheSettingAndTheThreshold) {
  {
    const ProductThreadSetting setting(4, -1);
    EXPECT_EQ(product_threads(), 4);
    EXPECT_EQ(threaded_product_min_work(), kThreadedProductMinWork);
    EXPECT_EQ(threads_for_product(100, 1000, 100), 4);  // 1e7 multiply-adds
    EXPECT_EQ(threads_for_product(20, 50, 20), 1);      // 2e4: below the threshold
    EXPECT_EQ(threads_for_product(1000, 12, 1000), 2);  // two blocks of 6 columns
  }
  EXPECT_GE(product_threads(), 1);
  EXPECT_LE(product_threads(), static_cast<int>(kMaxProductThreads));
  EXPECT_THROW(set_product_threads(-1), InputError);
  Eigen::MatrixXd C(3, 3);
  EXPECT_THROW(ordered_product_threaded(Eigen::MatrixXd::Ones(3, 2), Eigen::MatrixXd::Ones(3, 3), C), InputError);
}
