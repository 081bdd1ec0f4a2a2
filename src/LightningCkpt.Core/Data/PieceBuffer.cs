using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// A worker's read buffer for <see cref="TensorDataReader.ReadRange"/>, grown to the largest piece it was asked
    /// for and reused for every pass the worker runs (one per thread, never shared).
    /// </summary>
    internal sealed class PieceBuffer
    {
        private byte[] _bytes = Array.Empty<byte>();

        /// <summary>A buffer of at least <paramref name="elements"/> elements of <paramref name="dtype"/>.</summary>
        public byte[] For(DType dtype, int elements)
        {
            long bytes = dtype.BytesFor(elements);
            if (_bytes.Length < bytes) _bytes = new byte[bytes];
            return _bytes;
        }
    }
}
