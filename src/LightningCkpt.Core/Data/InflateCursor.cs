using System;
using System.IO;
using System.IO.Compression;
using LightningCkpt.Container;

namespace LightningCkpt.Data
{
    /// <summary>
    /// A forward cursor over a deflated zip entry's inflated bytes: reads inflate one window at a time and nothing
    /// inflated is kept, so a 4 MB entry claiming 4 GB costs the inflater's own buffers, not 4 GB. Reading behind
    /// the cursor restarts the inflation from the entry's start (row-major walks of contiguous views never do).
    /// </summary>
    internal sealed class InflateCursor : IDisposable
    {
        private const int SkipBuffer = 1 << 16;
        private readonly SourceFile _file;
        private readonly ZipEntry _entry;
        private Stream? _fs;
        private Stream? _inflate;
        private long _position;
        private byte[]? _skip;

        public InflateCursor(SourceFile file, ZipEntry entry)
        {
            _file = file;
            _entry = entry;
        }

        public ZipEntry Entry => _entry;

        private string Part => $"entry '{_entry.Name}'";

        /// <summary>Inflated bytes [offset, offset + count) into <paramref name="buffer"/>.</summary>
        public void Read(long offset, byte[] buffer, int bufferOffset, int count, ReadProgress progress)
        {
            if (offset < 0 || offset > _entry.UncompressedSize - count)
                throw new CheckpointFormatException(_file.Path, Part, $"{count} bytes at {offset} lie outside the {_entry.UncompressedSize} inflated bytes");
            if (_inflate == null || offset < _position) Restart();
            while (_position < offset)
            {
                _skip ??= new byte[SkipBuffer];
                int want = (int)Math.Min(_skip.Length, offset - _position);
                Fill(_skip, 0, want);
                progress.Advance(0);
            }
            Fill(buffer, bufferOffset, count);
        }

        private void Fill(byte[] buffer, int at, int count)
        {
            int got = 0;
            while (got < count)
            {
                int n = _inflate!.Read(buffer, at + got, count - got);
                if (n <= 0) break;
                got += n;
            }
            _file.CheckUnchanged(_fs!, Part);
            _position += got;
            if (got != count)
                throw new CheckpointFormatException(_file.Path, Part, $"deflated data ends after {_position} of the {_entry.UncompressedSize} bytes the directory records") { Defect = CheckpointDefect.Truncated };
        }

        private void Restart()
        {
            _inflate?.Dispose();
            _fs ??= _file.OpenForData();
            _inflate = new GuardedInflateStream(new DeflateStream(new SubStream(_fs, _entry.DataOffset, _entry.CompressedSize), CompressionMode.Decompress, leaveOpen: true), _file.Path, _entry.Name);
            _position = 0;
        }

        public void Dispose()
        {
            _inflate?.Dispose();
            _inflate = null;
            _fs?.Dispose();
            _fs = null;
        }
    }
}
