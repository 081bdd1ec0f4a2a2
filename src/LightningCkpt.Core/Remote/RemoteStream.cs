using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace LightningCkpt.Remote
{
    /// <summary>
    /// A read-only, seekable view of a <see cref="RemoteObject"/> for the container readers (which take a Stream),
    /// with read-ahead for data: after a data read inside a storage, the next ranges of that storage are fetched in
    /// the background, <see cref="InFlight"/> at a time, never past the storage's end, so a selected subset
    /// transfers only its own bytes.
    /// </summary>
    public sealed class RemoteStream : Stream
    {
        private const int InFlight = 3;
        private readonly Dictionary<long, Task<byte[]>> _ahead = new Dictionary<long, Task<byte[]>>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private long _position;

        public RemoteStream(RemoteObject remote) => Remote = remote;

        public RemoteObject Remote { get; }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => Remote.Length;

        public override long Position
        {
            get => _position;
            set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Max(0, Math.Min(count, Length - _position));
            if (n == 0) return 0;
            Remote.ReadAt(_position, buffer, offset, n);
            _position += n;
            return n;
        }

        /// <summary>
        /// Data bytes [<paramref name="offset"/>, +<paramref name="count"/>) of a storage ending at
        /// <paramref name="spanEnd"/>: served by read-ahead when it was foreseen, and the next ranges started.
        /// </summary>
        public void ReadData(long offset, byte[] dst, int at, int count, long spanEnd)
        {
            Task<byte[]>? ahead;
            lock (_ahead)
                if (_ahead.TryGetValue(offset, out ahead)) _ahead.Remove(offset);
            byte[]? got = ahead?.GetAwaiter().GetResult();
            if (got != null && got.Length >= count) Buffer.BlockCopy(got, 0, dst, at, count);
            else Remote.ReadAt(offset, dst, at, count, spanEnd);
            if (count < RemoteObject.DirectBytes) return; // small storages come whole; only data streams read ahead
            lock (_ahead)
            {
                for (int k = 1; k <= InFlight; k++)
                {
                    long s = offset + (long)k * count;
                    if (s >= spanEnd) break;
                    int n = (int)Math.Min(count, spanEnd - s);
                    if (!_ahead.ContainsKey(s)) _ahead[s] = Task.Run(() => Remote.FetchNew(s, n, _stop.Token));
                }
            }
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => Length + offset,
            };
            return _position;
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _stop.Cancel();
                lock (_ahead)
                {
                    foreach (var t in _ahead.Values) t.ContinueWith(x => _ = x.Exception, TaskScheduler.Default); // observed: no unobserved-task noise
                    _ahead.Clear();
                }
            }
            base.Dispose(disposing);
        }
    }
}
