using System;
using System.IO;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Vectorised inner loops over float32 runs (statistics and differences), with double accumulation.
    /// netstandard2.0 has no Vector&lt;T&gt; of its own: it binds to the runtime's System.Numerics.Vectors, which
    /// PowerShell 7 always has. Callers check <see cref="Available"/> and keep their scalar loops otherwise, and
    /// the methods touching Vector&lt;T&gt; are only compiled by the JIT when they are called.
    /// </summary>
    /// <remarks>
    /// Extremes are kept with a compare and a select, never Vector.Min/Max: on .NET 9+ those follow IEEE 754-2019
    /// minimum/maximum (NaN propagation, −0 below +0) and compile to about nine instructions each, which made them
    /// a third of the statistics kernel. The fast paths see finite values only (NaN and infinities make the sums
    /// non-finite and the callers redo the block exactly), where a plain comparison gives the same extremes (with
    /// both −0 and +0 present either may be kept, as in the scalar loops and the block merge).
    /// Sums run in two levels: each run of <see cref="RunVectors"/> vectors is summed from zero and then added to
    /// the block's totals, so a lane's value passes through about 128 + 64 additions in a 64K block instead of 8192
    /// in a row, and the rounding of long sums of like values (a constant tensor's Σx², say) stays near 1e-14 of the
    /// sum instead of 1e-13 (the exact-sum tests in StatisticsAccuracyTests measure it), at the speed of one level.
    /// Differences' inner loop holds one accumulator per sum and keeps every accumulator in a register: on AVX2 the 16 vector registers
    /// hold the sums, the two tolerances and the temporaries only when each half's products are folded before its
    /// differences are formed.
    /// </remarks>
    internal static unsafe class SimdKernels
    {
        /// <summary>
        /// The attributes of the per-block loops: not inlined, and compiled optimised at once
        /// (MethodImplOptions.AggressiveOptimization, 512, which netstandard2.0 does not name). Tiered compilation
        /// otherwise starts a method with loops unoptimised and moves it by on-stack replacement: a pass of a few
        /// hundred milliseconds (a bfloat16 file's statistics) then ran mostly in that code, at half the speed.
        /// .NET Framework has no tiering and is expected to ignore the bit (not verified on Windows PowerShell 5.1 here).
        /// </summary>
        internal const MethodImplOptions Hot = MethodImplOptions.NoInlining | (MethodImplOptions)512;

        /// <summary>
        /// The shortest block callers hand to <see cref="Moments{L}"/> and <see cref="Differences{LA, LB}"/>: above
        /// their 2·Vector&lt;float&gt;.Count precondition at every vector width, and where the vector loop starts to
        /// pay; shorter blocks take the callers' scalar loops.
        /// </summary>
        internal const int MinElements = 64;

        /// <summary>Vectors per inner run of the two-level sums.</summary>
        private const int RunVectors = 128;

        /// <summary>True when Vector&lt;T&gt; loads and is hardware-accelerated.</summary>
        public static readonly bool Available = Probe();

        private static bool Probe()
        {
            try { return ProbeCore(); }
            catch (Exception e) when (e is FileNotFoundException || e is FileLoadException || e is TypeLoadException || e is BadImageFormatException)
            {
                return false;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static bool ProbeCore() => Vector.IsHardwareAccelerated && Vector<float>.Count == 2 * Vector<double>.Count && Vector<float>.Count >= 4;

        /// <summary>
        /// Σ(x−k), Σ(x−k)², Σx², min, max and zeros of n floats (k shifts the sums for a stable variance) from a lane
        /// source (n ≥ 2·Vector&lt;float&gt;.Count). NaN and infinities make the sums non-finite, which callers detect
        /// to take their exact path. A pair source is taken two vectors a load, each folded in turn into the same
        /// accumulators as one vector a step, so every source gives the sums of its floats stored as float32.
        /// </summary>
        [MethodImpl(Hot)]
        public static void Moments<L>(L x, int n, double k, out double s, out double q, out double r, out double min, out double max, out long zeros, out int done)
            where L : struct, IFloatLanes
        {
            int w = Vector<float>.Count;
            var vk = new Vector<double>(k);
            Vector<double> ts = Vector<double>.Zero, tq = ts, tr = ts;
            var mn = new Vector<float>((float)x[0]);
            var mx = mn;
            var z = Vector<int>.Zero;
            int i = 0, whole = n / w * w;
            while (i < whole)
            {
                // a run of RunVectors vectors summed from zero, then added to the totals (see the remarks)
                int stop = Math.Min(whole, i + RunVectors * w);
                // two accumulators per sum (low and high half): one per sum measured ~7 % slower
                Vector<double> s0 = Vector<double>.Zero, s1 = s0, q0 = s0, q1 = s0, r0 = s0, r1 = s0;
                if (x.Pairs)
                    for (; i + 2 * w <= stop; i += 2 * w)
                    {
                        x.Load(i, out var a, out var b);
                        MomentsStep(a, vk, ref mn, ref mx, ref z, ref s0, ref s1, ref q0, ref q1, ref r0, ref r1);
                        MomentsStep(b, vk, ref mn, ref mx, ref z, ref s0, ref s1, ref q0, ref q1, ref r0, ref r1);
                    }
                // every vector of a plain source; the odd last one of a pair source (i ≥ w there)
                for (; i < stop; i += w) MomentsStep(x.Load(i), vk, ref mn, ref mx, ref z, ref s0, ref s1, ref q0, ref q1, ref r0, ref r1);
                ts += s0 + s1; tq += q0 + q1; tr += r0 + r1;
            }
            s = Vector.Dot(ts, Vector<double>.One);
            q = Vector.Dot(tq, Vector<double>.One);
            r = Vector.Dot(tr, Vector<double>.One);
            float fmin = mn[0], fmax = mx[0];
            long zc = 0;
            for (int j = 0; j < w; j++)
            {
                fmin = Math.Min(fmin, mn[j]);
                fmax = Math.Max(fmax, mx[j]);
            }
            for (int j = 0; j < Vector<int>.Count; j++) zc += z[j];
            min = fmin;
            max = fmax;
            zeros = zc;
            done = i;
        }

        /// <summary>One vector into the moments' accumulators (inlined: they stay in registers).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void MomentsStep(Vector<float> v, Vector<double> vk, ref Vector<float> mn, ref Vector<float> mx, ref Vector<int> z,
            ref Vector<double> s0, ref Vector<double> s1, ref Vector<double> q0, ref Vector<double> q1, ref Vector<double> r0, ref Vector<double> r1)
        {
            mn = Vector.ConditionalSelect(Vector.LessThan(v, mn), v, mn);
            mx = Vector.ConditionalSelect(Vector.GreaterThan(v, mx), v, mx);
            z -= Vector.Equals(v, Vector<float>.Zero);
            Vector.Widen(v, out var lo, out var hi);
            var dl = lo - vk;
            var dh = hi - vk;
            s0 += dl; s1 += dh;
            q0 += dl * dl; q1 += dh * dh;
            r0 += lo * lo; r1 += hi * hi;
        }

        /// <summary>
        /// The sums of Compare-Ckpt over n float pairs from two lane sources (n ≥ 2·Vector&lt;float&gt;.Count): max and
        /// Σ of |a−b|, Σ(a−b)², Σa², Σb², Σab, and how many elements fail |a−b| ≤ atol + rtol·|b|. Non-finite input
        /// makes the sums non-finite (callers redo exactly). With a pair source on either side both are taken two
        /// vectors a load and folded one vector at a time, as in <see cref="Moments{L}"/>.
        /// </summary>
        [MethodImpl(Hot)]
        public static void Differences<LA, LB>(LA x, LB y, int n, double atol, double rtol,
            out double maxAbs, out double sumAbs, out double d2, out double a2, out double b2, out double ab, out long notClose, out int done)
            where LA : struct, IFloatLanes where LB : struct, IFloatLanes
        {
            int w = Vector<float>.Count;
            var vatol = new Vector<double>(atol);
            var vrtol = new Vector<double>(rtol);
            Vector<double> mx = Vector<double>.Zero, sa = mx, sd = mx, saa = mx, sbb = mx, sab = mx;
            Vector<long> bad = Vector<long>.Zero;
            int i = 0, whole = n / w * w;
            while (i < whole)
            {
                int stop = Math.Min(whole, i + RunVectors * w);
                Vector<double> ra = Vector<double>.Zero, rd = ra, raa = ra, rbb = ra, rab = ra;
                if (x.Pairs || y.Pairs)
                    for (; i + 2 * w <= stop; i += 2 * w)
                    {
                        x.Load(i, out var a0, out var a1);
                        y.Load(i, out var b0, out var b1);
                        DifferencesStep(a0, b0, vatol, vrtol, ref mx, ref bad, ref ra, ref rd, ref raa, ref rbb, ref rab);
                        DifferencesStep(a1, b1, vatol, vrtol, ref mx, ref bad, ref ra, ref rd, ref raa, ref rbb, ref rab);
                    }
                for (; i < stop; i += w) DifferencesStep(x.Load(i), y.Load(i), vatol, vrtol, ref mx, ref bad, ref ra, ref rd, ref raa, ref rbb, ref rab);
                sa += ra; sd += rd; saa += raa; sbb += rbb; sab += rab;
            }
            double m = 0;
            long nb = 0;
            for (int j = 0; j < Vector<double>.Count; j++)
            {
                m = Math.Max(m, mx[j]);
                nb += bad[j];
            }
            maxAbs = m;
            sumAbs = Vector.Dot(sa, Vector<double>.One);
            d2 = Vector.Dot(sd, Vector<double>.One);
            a2 = Vector.Dot(saa, Vector<double>.One);
            b2 = Vector.Dot(sbb, Vector<double>.One);
            ab = Vector.Dot(sab, Vector<double>.One);
            notClose = nb;
            done = i;
        }

        /// <summary>One vector pair into the differences' accumulators (inlined: they stay in registers).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void DifferencesStep(Vector<float> a, Vector<float> b, Vector<double> vatol, Vector<double> vrtol, ref Vector<double> mx, ref Vector<long> bad,
            ref Vector<double> ra, ref Vector<double> rd, ref Vector<double> raa, ref Vector<double> rbb, ref Vector<double> rab)
        {
            Vector.Widen(a, out var alo, out var ahi);
            Vector.Widen(b, out var blo, out var bhi);
            // the products first: a, b die early, so nothing spills to the stack
            raa += alo * alo + ahi * ahi;
            rab += alo * blo + ahi * bhi;
            rbb += blo * blo + bhi * bhi;
            var dlo = alo - blo;
            var dhi = ahi - bhi;
            rd += dlo * dlo + dhi * dhi;
            var adlo = Vector.Abs(dlo);
            var adhi = Vector.Abs(dhi);
            ra += adlo + adhi;
            var top = Vector.ConditionalSelect(Vector.GreaterThan(adhi, adlo), adhi, adlo);
            mx = Vector.ConditionalSelect(Vector.GreaterThan(top, mx), top, mx);
            // allclose: not close when |a−b| > atol + rtol·|b|; comparison masks are −1 per failing lane
            bad -= Vector.GreaterThan(adlo, vatol + vrtol * Vector.Abs(blo)) + Vector.GreaterThan(adhi, vatol + vrtol * Vector.Abs(bhi));
        }
    }
}
