using System;
using System.IO;

namespace LightningCkpt.Container
{
    /// <summary>A read-only window onto a region of another stream.</summary>
    internal sealed class SubStream : Stream
    {
        private readonly Stream _inner;
        private readonly long _start;
        private readonly long _length;
        private long _pos;

        public SubStream(Stream inner, long start, long length)
        {
            _inner = inner;
            _start = start;
            _length = length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _pos; set => _pos = Math.Max(0, Math.Min(_length, value)); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            long left = _length - _pos;
            if (left <= 0) return 0;
            if (count > left) count = (int)left;
            _inner.Position = _start + _pos;
            int n = _inner.Read(buffer, offset, count);
            _pos += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _pos + offset, _ => _length + offset };
            return _pos;
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Turns the framework's InvalidDataException from corrupt deflate data into our one exception.</summary>
    internal sealed class GuardedInflateStream : Stream
    {
        private readonly Stream _inner;
        private readonly string _path;
        private readonly string _entry;

        public GuardedInflateStream(Stream inner, string path, string entry)
        {
            _inner = inner;
            _path = path;
            _entry = entry;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try { return _inner.Read(buffer, offset, count); }
            catch (InvalidDataException e) { throw new CheckpointFormatException(_path, $"entry '{_entry}'", "deflated data is corrupt: " + e.Message, -1, e); }
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
    }
}
