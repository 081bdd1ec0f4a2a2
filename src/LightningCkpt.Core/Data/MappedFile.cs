using System;
using System.IO;
using System.IO.MemoryMappedFiles;

namespace LightningCkpt.Data
{
    /// <summary>
    /// A read-only memory map of a whole checkpoint. Tensor bytes are read in place through a pointer: no
    /// copies of whole tensors, and the OS pages data in and out as needed.
    /// </summary>
    public sealed unsafe class MappedFile : IDisposable
    {
        private readonly MemoryMappedFile? _map;
        private readonly MemoryMappedViewAccessor? _view;
        private byte* _pointer;

        public MappedFile(string path)
        {
            Path = path;
            var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.RandomAccess);
            Length = fs.Length;
            if (Length == 0)
            {
                fs.Dispose();
                return;
            }
            try
            {
                _map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
                _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
                _pointer += _view.PointerOffset;
            }
            catch
            {
                Dispose();
                fs.Dispose();
                throw;
            }
        }

        public string Path { get; }
        public long Length { get; }

        /// <summary>Pointer to byte <paramref name="offset"/>; the range must lie inside the file.</summary>
        public byte* At(long offset, long count)
        {
            if (offset < 0 || count < 0 || offset > Length - count)
                throw new CheckpointFormatException(Path, "tensor data", $"range {offset}+{count} lies outside the {Length}-byte file (was the file changed?)");
            return _pointer + offset;
        }

        public void Dispose()
        {
            if (_view != null)
            {
                if (_pointer != null) _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _pointer = null;
                _view.Dispose();
            }
            _map?.Dispose();
        }
    }
}
