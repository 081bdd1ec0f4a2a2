using System;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// The exact k-th largest |value| of a tensor streamed several times, in constant memory: a radix selection over
    /// the bits of |value| as a float64 (non-negative doubles order as their bit patterns), 16 bits per pass, at most
    /// four passes, each counting only the elements that still share the chosen prefix (one 65536-entry histogram).
    /// It stops early when the whole bucket holding the k-th value is kept. Ties at the threshold are broken by
    /// position: the first ones in row-major order are kept, so exactly k elements survive.
    /// </summary>
    internal sealed class MagnitudeThreshold
    {
        public const int Passes = 4;
        private const int DigitBits = 16;

        private readonly long[] _histogram = new long[1 << DigitBits];
        private ulong _prefix;       // the digits chosen so far
        private long _remaining;     // how many of the elements sharing _prefix are still to keep
        private int _pass;
        private bool _done;
        private ulong _lowest;       // keep key ≥ _lowest (bucket kept whole), or
        private ulong _threshold;    // keep key > _threshold, and the first _ties keys == _threshold
        private bool _exact;
        private long _tiesLeft;

        /// <summary>A selection to <see cref="Reset"/> for each tensor: one per input for a whole merge.</summary>
        public MagnitudeThreshold() => _done = true;

        public MagnitudeThreshold(long k, long numel) => Reset(k, numel);

        /// <summary>
        /// Starts the selection of the <paramref name="k"/> largest of <paramref name="numel"/> magnitudes, reusing
        /// the histogram: a fresh 512 KB array per tensor and input is large-object garbage (222 MB of it in a TIES
        /// merge of three 1.3 GB checkpoints, which held the resident memory at ~100 MB until full collections).
        /// </summary>
        public void Reset(long k, long numel)
        {
            if (!_done) Array.Clear(_histogram, 0, _histogram.Length); // the last selection was abandoned mid-pass
            _prefix = 0;
            _pass = 0;
            _done = false;
            _lowest = 0;
            _threshold = 0;
            _exact = false;
            _tiesLeft = 0;
            if (k >= numel) { _done = true; _lowest = 0; }            // all kept
            else if (k <= 0) { _done = true; _lowest = ulong.MaxValue; _exact = true; _threshold = ulong.MaxValue; } // none
            _remaining = k;
        }

        /// <summary>Whether another counting pass is needed.</summary>
        public bool NeedsPass => !_done;

        /// <summary>The ordered key of a value: the bits of |v| (NaN above infinity, as torch.topk ranks it).</summary>
        public static ulong Key(double v) => (ulong)BitConverter.DoubleToInt64Bits(v) & 0x7FFFFFFFFFFFFFFFUL;

        private int Shift => 64 - DigitBits * (_pass + 1);

        public void Count(ulong key)
        {
            if (_pass > 0 && (key >> (Shift + DigitBits)) != _prefix) return;
            _histogram[(int)((key >> Shift) & 0xFFFF)]++;
        }

        public void EndPass()
        {
            if (_done) return;
            long above = 0;
            int digit = _histogram.Length - 1;
            for (; digit > 0; digit--)
            {
                if (above + _histogram[digit] >= _remaining) break;
                above += _histogram[digit];
            }
            long inBucket = _histogram[digit];
            _remaining -= above;
            int shift = Shift;
            _prefix = (_prefix << DigitBits) | (uint)digit;
            Array.Clear(_histogram, 0, _histogram.Length);
            _pass++;
            if (inBucket == _remaining) { _done = true; _lowest = _prefix << shift; return; }
            if (_pass == Passes)
            {
                _done = true;
                _exact = true;
                _threshold = _prefix;
                _tiesLeft = _remaining;
            }
        }

        /// <summary>Whether the element with this key is among the k kept; call in row-major order (ties are counted).</summary>
        public bool Keeps(ulong key)
        {
            if (!_exact) return key >= _lowest;
            if (key > _threshold) return true;
            if (key == _threshold && _tiesLeft > 0) { _tiesLeft--; return true; }
            return false;
        }
    }
}
