using System;

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
                double* m = x[k];
                for (int i = 0; i < count; i++) t.Count(MagnitudeThreshold.Key(m[i] - b[i]));
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
                var top = _topK?[k];
                for (int i = 0; i < count; i++)
                {
                    double tau = m[i] - b[i];
                    if (top != null && !top.Keeps(MagnitudeThreshold.Key(tau))) tau = 0;
                    else if (_dare != null) tau = _dare[k].Keeps(start + i) ? tau * _rescale : 0;
                    m[i] = tau;
                }
            }
            for (int i = 0; i < count; i++)
            {
                double merged;
                if (!_electSign)
                {
                    double acc = 0;
                    for (int k = 0; k < _n; k++) acc += _w[k] * x[k][i];
                    merged = acc;
                }
                else
                {
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
                    merged = num / (den == 0 ? 1 : den);
                }
                result[i] = b[i] + _scale * merged;
            }
        }
    }
}
