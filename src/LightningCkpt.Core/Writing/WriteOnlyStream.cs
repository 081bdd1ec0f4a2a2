using System;
using System.IO;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// The Stream surface of the writers' forward-only pass-through layers (<see cref="CountingStream"/>,
    /// <see cref="EarlyWriteback"/>): write-only, not seekable, its length and position the bytes written so far.
    /// </summary>
    internal abstract class WriteOnlyStream : Stream
    {
        /// <summary>Bytes written through this layer.</summary>
        protected abstract long BytesWritten { get; }

        public override void WriteByte(byte value) => Write(new[] { value }, 0, 1);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => BytesWritten;
        public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
