using System;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// The exact k-th largest |value| of a tensor streamed several times, in bounded memory: a radix selection over
    /// the 63 bits of |value| as a float64 (non-negative doubles order as their bit patterns), 16 bits per digit
    /// (the last 15), each pass counting only the elements that still share the chosen prefix (one 65536-entry
    /// histogram). It stops early when the whole bucket holding the k-th value is kept. As soon as the elements
    /// sharing the prefix fit the candidate limit, the next pass stores their keys instead and the remaining digits
    /// are chosen in memory: two streamed passes instead of four for most tensors, the same digits chosen. Ties at
    /// the threshold are broken by position: the first ones in row-major order are kept, so exactly k elements
    /// survive.
    /// </summary>
    internal sealed class MagnitudeThreshold
    {
        /// <summary>At most this many streamed passes.</summary>
        public const int Passes = 4;

        /// <summary>Keys held by default for the in-memory digits (8 MB).</summary>
        public const int DefaultCandidateLimit = 1 << 20;

        private const int KeyBits = 63; // |v| has no sign bit
        private const int DigitBits = 16;

        private readonly long[] _histogram = new long[1 << DigitBits];
        private readonly int _candidateLimit;
        private ulong[] _candidates = Array.Empty<ulong>(); // grown by doubling up to the limit, kept for the next tensors
        private int _expected;       // keys a collecting pass stores: those the last histogram counted under _prefix
        private int _collected;      // keys stored so far
        private bool _collecting;    // this pass stores the keys sharing _prefix instead of counting digits
        private ulong _prefix;       // the digits chosen so far
        private long _remaining;     // how many of the elements sharing _prefix are still to keep
        private int _pass;           // digits chosen so far
        private int _shift;          // where this pass's digit starts
        private int _prefixShift;    // where the chosen prefix starts (KeyBits on the first pass)
        private ulong _digitMask;
        private bool _done = true;
        private ulong _lowest;       // keep key ≥ _lowest (the bucket kept whole; _threshold + 1 when _exact), and
        private ulong _threshold;    // when _exact, the first _tiesLeft keys == _threshold
        private bool _exact;
        private long _tiesLeft;

        /// <summary>A selection to <see cref="Reset"/> for each tensor: one per input for a whole merge.</summary>
        public MagnitudeThreshold(int candidateLimit = DefaultCandidateLimit) => _candidateLimit = Math.Max(0, candidateLimit);

        public MagnitudeThreshold(long k, long numel, int candidateLimit = DefaultCandidateLimit) : this(candidateLimit) => Reset(k, numel);

        /// <summary>
        /// Starts the selection of the <paramref name="k"/> largest of <paramref name="numel"/> magnitudes, reusing
        /// the histogram and the candidates: fresh arrays per tensor and input are large-object garbage (222 MB of it
        /// in a TIES merge of three 1.3 GB checkpoints, which held the resident memory at ~100 MB until full
        /// collections).
        /// </summary>
        public void Reset(long k, long numel)
        {
            if (!_done && !_collecting) Array.Clear(_histogram, 0, _histogram.Length); // the last selection was abandoned mid-pass
            _prefix = 0;
            _pass = 0;
            _collecting = false;
            _collected = 0;
            _done = false;
            _lowest = 0;
            _threshold = 0;
            _exact = false;
            _tiesLeft = 0;
            SetShifts();
            if (k >= numel) { _done = true; _lowest = 0; }            // all kept
            else if (k <= 0) { _done = true; _lowest = ulong.MaxValue; _exact = true; _threshold = ulong.MaxValue; } // none
            _remaining = k;
        }

        /// <summary>Whether another streamed pass is needed.</summary>
        public bool NeedsPass => !_done;

        /// <summary>The ordered key of a value: the bits of |v| (NaN above infinity, as torch.topk ranks it).</summary>
        public static ulong Key(double v) => (ulong)BitConverter.DoubleToInt64Bits(v) & 0x7FFFFFFFFFFFFFFFUL;

        private void SetShifts()
        {
            _prefixShift = _pass == 0 ? KeyBits : _shift;
            _shift = Math.Max(0, KeyBits - DigitBits * (_pass + 1));
            _digitMask = (1UL << (_prefixShift - _shift)) - 1;
        }

        /// <summary>
        /// Counts the keys of |m[i] − b[i]| (a block of one input's task vector) in this pass's histogram, or stores
        /// those sharing the prefix on a collecting pass. One tight loop per case: this runs for every element of every
        /// input on each streamed pass.
        /// </summary>
        public unsafe void Count(double* m, double* b, int count)
        {
            ulong prefix = _prefix;
            int prefixShift = _prefixShift, shift = _shift;
            if (_collecting)
            {
                for (int i = 0; i < count; i++)
                {
                    ulong key = Key(m[i] - b[i]);
                    if ((key >> prefixShift) != prefix) continue;
                    if (_collected == _expected) throw new InvalidOperationException("the tensor changed between the passes of its top-k selection");
                    _candidates[_collected++] = key;
                }
                return;
            }
            ulong mask = _digitMask;
            fixed (long* h = _histogram)
            {
                if (_pass == 0)
                    for (int i = 0; i < count; i++) h[Key(m[i] - b[i]) >> shift]++; // the top digit: no prefix yet
                else
                    for (int i = 0; i < count; i++)
                    {
                        ulong key = Key(m[i] - b[i]);
                        if ((key >> prefixShift) == prefix) h[(key >> shift) & mask]++;
                    }
            }
        }

        public void EndPass()
        {
            if (_done) return;
            if (_collecting)
            {
                if (_collected != _expected) throw new InvalidOperationException("the tensor changed between the passes of its top-k selection");
                ChooseInMemory();
                return;
            }
            long inBucket = ChooseDigit();
            if (!_done && inBucket <= _candidateLimit)
            {
                // the next pass stores exactly these keys
                _expected = (int)inBucket;
                if (_candidates.Length < _expected) _candidates = new ulong[Math.Max(_expected, (int)Math.Min(_candidateLimit, 2L * _candidates.Length))];
                _collecting = true;
                _collected = 0;
            }
        }

        /// <summary>The digits left, chosen over the stored candidates (each round keeps those sharing the new prefix).</summary>
        private void ChooseInMemory()
        {
            var keys = _candidates;
            int count = _collected;
            while (!_done)
            {
                for (int i = 0; i < count; i++) _histogram[(int)((keys[i] >> _shift) & _digitMask)]++;
                ChooseDigit();
                int kept = 0;
                for (int i = 0; i < count; i++)
                    if ((keys[i] >> _prefixShift) == _prefix) keys[kept++] = keys[i];
                count = kept;
            }
            _collecting = false;
        }

        /// <summary>Picks the digit holding the k-th largest from the histogram (then cleared); returns how many share the new prefix.</summary>
        private long ChooseDigit()
        {
            long above = 0;
            int digit = _histogram.Length - 1;
            for (; digit > 0; digit--)
            {
                if (above + _histogram[digit] >= _remaining) break;
                above += _histogram[digit];
            }
            long inBucket = _histogram[digit];
            _remaining -= above;
            int width = _prefixShift - _shift;
            int shift = _shift;
            _prefix = (_prefix << width) | (uint)digit;
            Array.Clear(_histogram, 0, _histogram.Length);
            _pass++;
            if (inBucket == _remaining) { _done = true; _lowest = _prefix << shift; return inBucket; }
            if (shift == 0)
            {
                _done = true;
                _exact = true;
                _threshold = _prefix;
                _lowest = _prefix + 1; // keys are below 2⁶³: no overflow
                _tiesLeft = _remaining;
                return inBucket;
            }
            SetShifts();
            return inBucket;
        }

        /// <summary>Whether the element with this key is among the k kept; call in row-major order (ties are counted).</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public bool Keeps(ulong key)
        {
            if (key == _threshold && _exact) // rare: the ties at the threshold, counted
            {
                if (_tiesLeft == 0) return false;
                _tiesLeft--;
                return true;
            }
            return key >= _lowest;
        }

        /// <summary>
        /// m[i] becomes τ = m[i] − b[i] where <see cref="Keeps"/> it, +0 elsewhere, in row-major order. The choice
        /// is a mask, not a branch: which elements are kept is unpredictable.
        /// </summary>
        public unsafe void Keep(double* m, double* b, int count)
        {
            for (int i = 0; i < count; i++)
            {
                double tau = m[i] - b[i];
                long mask = Keeps(Key(tau)) ? -1L : 0L;
                m[i] = BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(tau) & mask);
            }
        }
    }
}
