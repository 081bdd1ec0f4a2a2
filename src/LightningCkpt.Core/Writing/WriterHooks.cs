using System;
using System.IO;

namespace LightningCkpt.Writing
{
    /// <summary>Test hooks for the writers (internal; the test assembly sees them).</summary>
    internal static class WriterHooks
    {
        /// <summary>When set, every output stream throws an <see cref="IOException"/> once this many bytes have been written.</summary>
        [ThreadStatic] internal static long? FailAfterBytes;
    }

    /// <summary>
    /// A write-only pass-through stream that counts bytes, stops at cancellation (Ctrl+C) between writes and honours
    /// <see cref="WriterHooks.FailAfterBytes"/>.
    /// </summary>
    internal sealed class CountingStream : Stream
    {
        private readonly Stream _inner;
        private readonly long? _failAfter;
        private readonly System.Threading.CancellationToken _cancel;

        public CountingStream(Stream inner, System.Threading.CancellationToken cancel = default)
        {
            _inner = inner;
            _failAfter = WriterHooks.FailAfterBytes;
            _cancel = cancel;
        }

        public long Written { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            _cancel.ThrowIfCancellationRequested();
            if (_failAfter is long limit && Written + count > limit)
            {
                int part = (int)Math.Max(0, limit - Written);
                if (part > 0) _inner.Write(buffer, offset, part);
                Written += part;
                throw new IOException($"injected write failure after {limit} bytes");
            }
            _inner.Write(buffer, offset, count);
            Written += count;
        }

        public override void WriteByte(byte value) => Write(new[] { value }, 0, 1);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => _inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
