using System;
using LightningCkpt.Data;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// The buffers of one merge: the read-ahead slots (one buffer per input in each of <see cref="ReadAhead.Slots"/>
    /// slots) and the output buffer, all of one size, grown to the largest window met so far and reused by every
    /// tensor and pass. Fresh multi-megabyte arrays per tensor and pass would be large-object garbage that only a full
    /// collection frees.
    /// </summary>
    internal sealed class WindowBuffers
    {
        private readonly int _parts;

        public WindowBuffers(int parts)
        {
            _parts = parts;
            Grow(0);
        }

        public byte[][][] Slots { get; private set; } = Array.Empty<byte[][]>();

        public byte[] Output { get; private set; } = Array.Empty<byte>();

        /// <summary>
        /// Every buffer holds at least <paramref name="bytes"/>: grown by doubling (a few sizes whatever the order of
        /// the tensors) up to <paramref name="most"/>, the full window.
        /// </summary>
        public void Fit(int bytes, int most)
        {
            if (Output.Length >= bytes) return;
            Grow(Math.Max(bytes, (int)Math.Min(most, 2L * Output.Length)));
        }

        private void Grow(int size)
        {
            Slots = Array.Empty<byte[][]>(); // the old buffers are garbage before the new ones exist
            Output = Array.Empty<byte>();
            var slots = new byte[ReadAhead.Slots][][];
            for (int s = 0; s < slots.Length; s++)
            {
                slots[s] = new byte[_parts][];
                for (int k = 0; k < _parts; k++) slots[s][k] = size == 0 ? Array.Empty<byte>() : new byte[size];
            }
            Slots = slots;
            Output = size == 0 ? Array.Empty<byte>() : new byte[size];
        }
    }
}
