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
    internal sealed class CountingStream : WriteOnlyStream
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

        protected override long BytesWritten => Written;
        public override void Flush() => _inner.Flush();
    }
}
