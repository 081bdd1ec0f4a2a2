using System;
using System.Numerics;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// The base methods: each input's task vector τᵢ = mᵢ − base, sparsified (TIES: its k = ⌊d·numel⌋ largest |τᵢ|,
    /// found by <see cref="MagnitudeThreshold"/>; DARE: each element kept with probability d by
    /// <see cref="DareGenerator"/> and rescaled by 1/d), then combined: task arithmetic as base + λ·Σ wᵢ·τᵢ; TIES as
    /// δᵢ = wᵢ·τᵢ, elected sign s = +1 where Σδᵢ ≥ 0 else −1, base + λ·Σ δᵢ·[sign δᵢ = s] / Σ wᵢ·[sign δᵢ = s]
    /// (the divisor 1 where no input agrees).
    /// </summary>
    internal sealed unsafe class TaskVectorStrategy : MergeStrategy
    {
        private readonly double[] _w;
        private readonly Vector<double>[] _wv;
        private readonly double _scale;
        private readonly bool _electSign;
        private readonly MagnitudeThreshold[]? _topK;
        private readonly DareGenerator[]? _dare;
        private readonly double _rescale = 1;
        private readonly int _n;

        /// <summary>
        /// topK: TIES' selections, one per input, reused from tensor to tensor (reset here to the k = ⌊topKDensity·numel⌋
        /// largest), or null; dare: DARE's generators, one per input, or null.
        /// </summary>
        public TaskVectorStrategy(double[] w, double scale, bool electSign, MagnitudeThreshold[]? topK, double topKDensity, long numel, DareGenerator[]? dare, double dareDensity)
        {
            _w = w;
            _wv = Array.ConvertAll(w, x => new Vector<double>(x));
            _n = w.Length;
            _scale = scale;
            _electSign = electSign;
            if (topK != null)
            {
                long k = (long)Math.Floor(topKDensity * numel);
                _topK = topK;
                for (int i = 0; i < _n; i++) _topK[i].Reset(k, numel);
            }
            if (dare != null) { _dare = dare; _rescale = 1 / dareDensity; }
        }

        public override bool NeedsPass(int pass)
        {
            if (_topK == null || pass >= MagnitudeThreshold.Passes) return false;
            foreach (var t in _topK) if (t.NeedsPass) return true;
            return false;
        }

        public override void Reduce(int pass, long start, int count, double*[] x)
        {
            double* b = x[_n];
            for (int k = 0; k < _n; k++)
            {
                var t = _topK![k];
                if (!t.NeedsPass) continue;
                t.Count(x[k], b, count);
            }
        }

        public override void EndPass(int pass)
        {
            foreach (var t in _topK!) t.EndPass();
        }

        public override void Combine(long start, int count, double*[] x, double* result)
        {
            double* b = x[_n];
            // τ in place of the inputs' decoded values: the block is this strategy's to use
            for (int k = 0; k < _n; k++)
            {
                double* m = x[k];
                if (_topK != null) { _topK[k].Keep(m, b, count); continue; }
                for (int i = 0; i < count; i++)
                {
                    double tau = m[i] - b[i];
                    if (_dare != null) tau = _dare[k].Keeps(start + i) ? tau * _rescale : 0;
                    m[i] = tau;
                }
            }
            int i0 = 0;
            if (Vector.IsHardwareAccelerated && count >= Vector<double>.Count) i0 = CombineVectors(count, x, result);
            for (int i = i0; i < count; i++) result[i] = b[i] + _scale * Merged(i, x);
        }

        /// <summary>The merged task vector at element i of the block (τ of every input in x[0..n)).</summary>
        private double Merged(int i, double*[] x)
        {
            if (!_electSign)
            {
                double acc = 0;
                for (int k = 0; k < _n; k++) acc += _w[k] * x[k][i];
                return acc;
            }
            double sum = 0;
            for (int k = 0; k < _n; k++) sum += _w[k] * x[k][i];
            int sign = sum >= 0 ? 1 : -1;
            double num = 0, den = 0;
            for (int k = 0; k < _n; k++)
            {
                double delta = _w[k] * x[k][i];
                int deltaSign = delta > 0 ? 1 : delta < 0 ? -1 : 0; // NaN has no sign: never elected
                if (deltaSign == sign) { num += delta; den += _w[k]; }
            }
            return num / (den == 0 ? 1 : den);
        }

        /// <summary>
        /// <see cref="Merged"/> and the result for whole vectors of elements; returns where the scalar tail starts.
        /// Bit for bit the scalar arithmetic: the same products and sums in the same order, and a disagreeing input
        /// adds +0 to num and den, which never hold −0 (they start at +0 and num only sums values of one sign).
        /// The agreement is a mask, not a branch: the signs of task vectors are unpredictable.
        /// </summary>
        private int CombineVectors(int count, double*[] x, double* result)
        {
            int width = Vector<double>.Count, i = 0;
            double* b = x[_n];
            var zero = Vector<double>.Zero;
            var one = Vector<double>.One;
            var scale = new Vector<double>(_scale);
            for (; i <= count - width; i += width)
            {
                Vector<double> merged;
                if (!_electSign)
                {
                    var acc = zero;
                    for (int k = 0; k < _n; k++) acc += _wv[k] * *(Vector<double>*)(x[k] + i);
                    merged = acc;
                }
                else
                {
                    var sum = zero;
                    for (int k = 0; k < _n; k++) sum += _wv[k] * *(Vector<double>*)(x[k] + i);
                    var positive = Vector.GreaterThanOrEqual(sum, zero); // NaN elects −1, as sum >= 0 does
                    Vector<double> num = zero, den = zero;
                    for (int k = 0; k < _n; k++)
                    {
                        var delta = _wv[k] * *(Vector<double>*)(x[k] + i);
                        var agree = Vector.ConditionalSelect(positive, Vector.GreaterThan(delta, zero), Vector.LessThan(delta, zero));
                        num += Vector.ConditionalSelect(agree, delta, zero);
                        den += Vector.ConditionalSelect(agree, _wv[k], zero);
                    }
                    merged = num / Vector.ConditionalSelect(Vector.Equals(den, zero), one, den);
                }
                *(Vector<double>*)(result + i) = *(Vector<double>*)(b + i) + scale * merged;
            }
            return i;
        }
    }
}
