using System;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// Spherical interpolation of a and b by t, the tensors flattened: one pass for ⟨a,b⟩, ‖a‖², ‖b‖²; then, with
    /// cos θ = ⟨a,b⟩/(‖a‖‖b‖) clamped to [−1, 1], sin((1−t)θ)/sin θ · a + sin(tθ)/sin θ · b, or (1−t)·a + t·b when a
    /// norm is 0 or |cos θ| &gt; 0.9995 (nearly parallel: the spherical formula loses precision there).
    /// </summary>
    internal sealed unsafe class SlerpStrategy : MergeStrategy
    {
        private const double ParallelCos = 0.9995;
        private readonly double _t;
        private double _dot, _aa, _bb;
        private double _ca, _cb;

        public SlerpStrategy(double t) => _t = t;

        public override bool NeedsPass(int pass) => pass == 0;

        public override void Reduce(int pass, long start, int count, double*[] x)
        {
            double* a = x[0], b = x[1];
            for (int i = 0; i < count; i++)
            {
                _dot += a[i] * b[i];
                _aa += a[i] * a[i];
                _bb += b[i] * b[i];
            }
        }

        public override void EndPass(int pass) => (_ca, _cb) = Coefficients(_t, _dot, _aa, _bb);

        internal static (double a, double b) Coefficients(double t, double dot, double aa, double bb)
        {
            double na = Math.Sqrt(aa), nb = Math.Sqrt(bb);
            if (na == 0 || nb == 0) return (1 - t, t);
            double cos = Math.Max(-1, Math.Min(1, dot / (na * nb)));
            if (Math.Abs(cos) > ParallelCos) return (1 - t, t);
            double theta = Math.Acos(cos), sin = Math.Sin(theta);
            return (Math.Sin((1 - t) * theta) / sin, Math.Sin(t * theta) / sin);
        }

        public override void Combine(long start, int count, double*[] x, double* result)
        {
            double* a = x[0], b = x[1];
            for (int i = 0; i < count; i++) result[i] = _ca * a[i] + _cb * b[i];
        }
    }
}
