using System;
using System.IO;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// A bounded, buffered byte reader over a stream region. Every read is checked against the region end, so a
    /// length claimed by the pickle can never allocate more than the bytes that really follow.
    /// </summary>
    internal sealed class PickleSource
    {
        private readonly Stream? _stream;
        private readonly long _end;
        private readonly byte[] _buffer;
        private long _bufferStart;
        private int _bufferLength;
        private int _bufferPos;

        public PickleSource(Stream stream, long start, long end, int bufferSize = 1 << 16)
        {
            _stream = stream;
            _end = end;
            Start = start;
            _buffer = new byte[(int)Math.Max(16, Math.Min(bufferSize, Math.Max(0, end - start)))];
            _bufferStart = start;
        }

        /// <summary>A whole in-memory pickle: the array itself is the buffer, nothing is copied.</summary>
        public PickleSource(byte[] data)
        {
            _end = data.Length;
            _buffer = data;
            _bufferLength = data.Length;
        }

        /// <summary>Absolute position where this pickle region started.</summary>
        public long Start { get; }

        /// <summary>Absolute position of the next byte.</summary>
        public long Position => _bufferStart + _bufferPos;

        public long Remaining => _end - Position;

        public int ReadByte()
        {
            if (_bufferPos >= _bufferLength && !Fill()) return -1;
            return _buffer[_bufferPos++];
        }

        public byte[] ReadBytes(long count)
        {
            if (count < 0 || count > Remaining)
                throw new PickleDataException($"a length of {count} bytes runs past the end of the pickle ({Remaining} bytes remain)", CheckpointDefect.Truncated);
            var result = new byte[count];
            int done = 0;
            while (done < count)
            {
                if (_bufferPos >= _bufferLength && !Fill()) throw new PickleDataException("unexpected end of data", CheckpointDefect.Truncated);
                int n = (int)Math.Min(count - done, _bufferLength - _bufferPos);
                Buffer.BlockCopy(_buffer, _bufferPos, result, done, n);
                _bufferPos += n;
                done += n;
            }
            return result;
        }

        /// <summary>
        /// The next <paramref name="count"/> bytes as a span of the internal buffer (valid until the next read), without
        /// copying; false when they straddle a buffer refill — the caller then uses <see cref="ReadBytes"/>.
        /// </summary>
        public bool TryReadInPlace(long count, out byte[] buffer, out int offset)
        {
            if (count < 0 || count > Remaining)
                throw new PickleDataException($"a length of {count} bytes runs past the end of the pickle ({Remaining} bytes remain)", CheckpointDefect.Truncated);
            buffer = _buffer;
            offset = _bufferPos;
            if (count > _bufferLength - _bufferPos) return false;
            _bufferPos += (int)count;
            return true;
        }

        /// <summary>A little-endian unsigned integer of <paramref name="width"/> (1–8) bytes, without allocating.</summary>
        public ulong ReadLittleEndian(int width)
        {
            ulong v = 0;
            if (TryReadInPlace(width, out var b, out int at))
            {
                for (int i = width - 1; i >= 0; i--) v = (v << 8) | b[at + i];
                return v;
            }
            var bytes = ReadBytes(width);
            for (int i = width - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            return v;
        }

        public void Skip(long count)
        {
            if (count < 0 || count > Remaining) throw new PickleDataException($"cannot skip {count} bytes");
            long inBuffer = _bufferLength - _bufferPos;
            if (count <= inBuffer) { _bufferPos += (int)count; return; }
            _bufferStart = Position + count;
            _bufferPos = _bufferLength = 0;
        }

        /// <summary>A text line of a protocol-0 opcode, without the newline (and without a trailing '\r').</summary>
        public string ReadLine(int maxLength = 1 << 20)
        {
            var sb = new System.Text.StringBuilder();
            while (true)
            {
                int b = ReadByte();
                if (b < 0) throw new PickleDataException("unexpected end of data inside a text line", CheckpointDefect.Truncated);
                if (b == '\n') break;
                if (sb.Length >= maxLength) throw new PickleDataException($"a text line is longer than {maxLength} bytes", CheckpointErrorKind.LimitExceeded);
                sb.Append((char)b); // latin-1: callers decode further when needed
            }
            if (sb.Length > 0 && sb[sb.Length - 1] == '\r') sb.Length--;
            return sb.ToString();
        }

        private bool Fill()
        {
            long pos = Position;
            if (pos >= _end || _stream == null) return false;
            _bufferStart = pos;
            _bufferPos = 0;
            int want = (int)Math.Min(_buffer.Length, _end - pos);
            if (_stream.Position != pos) _stream.Position = pos;
            int got = 0;
            while (got < want)
            {
                int n = _stream.Read(_buffer, got, want - got);
                if (n <= 0) break;
                got += n;
            }
            _bufferLength = got;
            return got > 0;
        }
    }
}
