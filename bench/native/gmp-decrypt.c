/* Native baseline for the Paillier bench: the two CRT exponentiations of a Paillier decryption
 * (c^(p-1) mod p^2 and c^(q-1) mod q^2) with GMP, for a random key of the given size. Prints
 * "<bits> <mpz_powm median ms> <mpz_powm_sec median ms>" over `reps` runs. Built and run by
 * bench/paillier.ts when a C compiler and GMP's headers are present. */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void random_prime(mpz_t p, gmp_randstate_t state, int bits) {
  mpz_urandomb(p, state, bits);
  mpz_setbit(p, bits - 1);
  mpz_nextprime(p, p);
}

int main(int argc, char **argv) {
  int bits = argc > 1 ? atoi(argv[1]) : 2048;
  int reps = argc > 2 ? atoi(argv[2]) : 100;
  if (bits < 64 || reps < 1) return 1;
  gmp_randstate_t state;
  gmp_randinit_default(state);
  gmp_randseed_ui(state, (unsigned long)time(NULL));
  mpz_t p, q, p2, q2, n2, c, ep, eq, t, r;
  mpz_inits(p, q, p2, q2, n2, c, ep, eq, t, r, NULL);
  random_prime(p, state, bits / 2);
  random_prime(q, state, bits / 2);
  mpz_mul(p2, p, p);
  mpz_mul(q2, q, q);
  mpz_mul(n2, p2, q2);
  mpz_urandomm(c, state, n2);
  mpz_sub_ui(ep, p, 1);
  mpz_sub_ui(eq, q, 1);
  double *times = malloc(sizeof(double) * reps);
  double median[2];
  for (int secure = 0; secure < 2; secure++) {
    for (int i = 0; i < reps; i++) {
      double start = now_ms();
      mpz_mod(t, c, p2);
      if (secure) mpz_powm_sec(r, t, ep, p2); else mpz_powm(r, t, ep, p2);
      mpz_mod(t, c, q2);
      if (secure) mpz_powm_sec(r, t, eq, q2); else mpz_powm(r, t, eq, q2);
      times[i] = now_ms() - start;
    }
    qsort(times, reps, sizeof(double), by_value);
    median[secure] = times[reps / 2];
  }
  printf("%d %.4f %.4f\n", bits, median[0], median[1]);
  free(times);
  return 0;
}
