using System;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LightningCkpt.Container
{
    /// <summary>What kind of file system object a path names, after following links.</summary>
    public enum FileKind
    {
        Missing,
        Regular,
        Directory,
        Fifo,
        CharacterDevice,
        BlockDevice,
        Socket,
        Other,
    }

    /// <summary>
    /// Which file a path or handle is (device + inode on Unix, volume serial + file index on Windows) and the state
    /// it was in (length, last write). Two paths name the same file when their identities match, whatever the path
    /// text says (symlinked folders, /proc/self/cwd, hard links); a file whose identity changed between two looks was
    /// replaced or rewritten. On Linux the status-change time (ctime) is part of the state too: a rewrite whose
    /// last-write time was put back afterwards (cp -p or touch -r over the file, os.utime) still changes it.
    /// </summary>
    public readonly struct FileIdentity : IEquatable<FileIdentity>
    {
        private FileIdentity(FileKind kind, ulong device, ulong inode, bool hasFileId, long length, long lastWriteTicksUtc, string fullPath, long changeTimeNs = 0, long storedBytes = -1)
        {
            ChangeTimeNs = changeTimeNs;
            StoredBytes = storedBytes < 0 ? length : storedBytes;
            Kind = kind;
            Device = device;
            Inode = inode;
            HasFileId = hasFileId;
            Length = length;
            LastWriteTicksUtc = lastWriteTicksUtc;
            FullPath = fullPath;
        }

        public FileKind Kind { get; }

        /// <summary>Device (Unix) or volume serial number (Windows).</summary>
        public ulong Device { get; }

        /// <summary>Inode (Unix) or file index (Windows).</summary>
        public ulong Inode { get; }

        /// <summary>False where the platform gave no file id; then <see cref="IsSameFile"/> compares full paths.</summary>
        public bool HasFileId { get; }

        public long Length { get; }

        /// <summary>
        /// Bytes the file system stores for the file (Linux: statx blocks × 512), so a sparse file's holes do not
        /// count; where the platform does not say, <see cref="Length"/>. Not part of the identity or its state.
        /// </summary>
        public long StoredBytes { get; }

        /// <summary>Last write time in UTC ticks, at the resolution the file system keeps (nanoseconds on Linux).</summary>
        public long LastWriteTicksUtc { get; }

        public DateTime LastWriteTimeUtc => new DateTime(LastWriteTicksUtc, DateTimeKind.Utc);

        /// <summary>Linux: the inode's status-change time (statx ctime) in nanoseconds since 1970; 0 where not known.</summary>
        public long ChangeTimeNs { get; }

        /// <summary>The absolute path the identity was taken from (the fallback key when there is no file id).</summary>
        public string FullPath { get; }

        public bool Exists => Kind != FileKind.Missing;

        /// <summary>True when both name the same file system object (not necessarily in the same state).</summary>
        public bool IsSameFile(FileIdentity other)
        {
            if (!Exists || !other.Exists) return false;
            if (HasFileId && other.HasFileId) return Device == other.Device && Inode == other.Inode;
            return string.Equals(FullPath, other.FullPath, Platform.IsWindows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        }

        /// <summary>True when <paramref name="later"/> is the same file with the same length, last write and status-change time.</summary>
        public bool IsUnchangedIn(FileIdentity later) =>
            IsSameFile(later) && Length == later.Length && LastWriteTicksUtc == later.LastWriteTicksUtc && ChangeTimeNs == later.ChangeTimeNs;

        public bool Equals(FileIdentity other) => IsUnchangedIn(other);
        public override bool Equals(object? obj) => obj is FileIdentity o && Equals(o);
        public override int GetHashCode() => HasFileId ? (Device, Inode).GetHashCode() : StringComparer.Ordinal.GetHashCode(FullPath ?? "");

        public override string ToString() =>
            Exists ? $"{Kind} dev {Device} ino {Inode}, {Length} bytes, written {LastWriteTimeUtc:O}" : "missing";

        /// <summary>The identity of what <paramref name="path"/> names, following links; Kind is Missing when nothing is there.</summary>
        public static FileIdentity Of(string path)
        {
            string full = Path.GetFullPath(path);
            if (Platform.IsWindows) return Windows.OfPath(full);
            if (Platform.IsLinux && Statx.TryPath(full, out var id)) return id;
            return Portable(full);
        }

        /// <summary>The identity of an open file (fstat): what was really opened, even if the path changed since.</summary>
        public static FileIdentity Of(SafeFileHandle handle, string path)
        {
            string full = Path.GetFullPath(path);
            if (Platform.IsWindows) return Windows.OfHandle(handle, full);
            if (Platform.IsLinux && Statx.TryHandle(handle, full, out var id)) return id;
            return Portable(full);
        }

        /// <summary>No file id: kind, length and time from the managed API (macOS and other systems).</summary>
        private static FileIdentity Portable(string full)
        {
            var fi = new FileInfo(full);
            if (fi.Exists) return new FileIdentity(FileKind.Regular, 0, 0, false, fi.Length, fi.LastWriteTimeUtc.Ticks, full);
            if (Directory.Exists(full)) return new FileIdentity(FileKind.Directory, 0, 0, false, 0, Directory.GetLastWriteTimeUtc(full).Ticks, full);
            return new FileIdentity(FileKind.Missing, 0, 0, false, 0, 0, full);
        }

        private static class Platform
        {
            public static readonly bool IsWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
            public static readonly bool IsLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
        }

        /// <summary>
        /// Linux statx(2): its struct has one layout on every architecture (unlike struct stat), so it can be read
        /// by offset without a per-architecture definition.
        /// </summary>
        private static class Statx
        {
            private const int AtFdCwd = -100;
            private const int AtEmptyPath = 0x1000;
            private const uint MaskBasic = 0x7ff; // STATX_BASIC_STATS
            private const uint StatxBlocks = 0x400; // STATX_BLOCKS: stx_blocks (512-byte units) was filled in
            private const int BufferSize = 256;
            private static bool _unavailable;

            // One declaration for both uses (a path relative to AT_FDCWD, an open descriptor with AT_EMPTY_PATH): each
            // distinct signature costs its own marshalling stub, generated on an open's first call. dirfd is a C int,
            // passed in the low half of a pointer-sized register as the descriptor always was.
            [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
            private static extern int StatxCall(IntPtr dirfd, [MarshalAs(UnmanagedType.LPStr)] string path, int flags, uint mask, byte[] buffer);

            public static bool TryPath(string full, out FileIdentity id)
            {
                id = default;
                if (_unavailable) return false;
                var buf = new byte[BufferSize];
                int rc;
                try { rc = StatxCall(new IntPtr(AtFdCwd), full, 0, MaskBasic, buf); }
                catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException) { _unavailable = true; return false; }
                if (rc != 0)
                {
                    int errno = Marshal.GetLastWin32Error();
                    if (errno == 2 /* ENOENT */ || errno == 20 /* ENOTDIR */)
                    {
                        id = new FileIdentity(FileKind.Missing, 0, 0, true, 0, 0, full);
                        return true;
                    }
                    if (errno == 38 /* ENOSYS */) _unavailable = true;
                    return false;
                }
                id = Decode(buf, full);
                return true;
            }

            public static bool TryHandle(SafeFileHandle handle, string full, out FileIdentity id)
            {
                id = default;
                if (_unavailable || handle.IsInvalid) return false;
                var buf = new byte[BufferSize];
                bool added = false;
                try
                {
                    handle.DangerousAddRef(ref added);
                    if (StatxCall(handle.DangerousGetHandle(), "", AtEmptyPath, MaskBasic, buf) != 0) return false;
                }
                catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException) { _unavailable = true; return false; }
                finally { if (added) handle.DangerousRelease(); }
                id = Decode(buf, full);
                return true;
            }

            private static FileIdentity Decode(byte[] b, string full)
            {
                int mode = BitConverter.ToUInt16(b, 28);
                ulong ino = BitConverter.ToUInt64(b, 32);
                long size = BitConverter.ToInt64(b, 40);
                uint mask = BitConverter.ToUInt32(b, 0);
                long blocks = (mask & StatxBlocks) != 0 ? BitConverter.ToInt64(b, 48) : -1;
                long ctimeSec = BitConverter.ToInt64(b, 96);
                uint ctimeNsec = BitConverter.ToUInt32(b, 104);
                long mtimeSec = BitConverter.ToInt64(b, 112);
                uint mtimeNsec = BitConverter.ToUInt32(b, 120);
                ulong devMajor = BitConverter.ToUInt32(b, 136), devMinor = BitConverter.ToUInt32(b, 140);
                var kind = (mode & 0xF000) switch
                {
                    0x8000 => FileKind.Regular,
                    0x4000 => FileKind.Directory,
                    0x1000 => FileKind.Fifo,
                    0x2000 => FileKind.CharacterDevice,
                    0x6000 => FileKind.BlockDevice,
                    0xC000 => FileKind.Socket,
                    _ => FileKind.Other,
                };
                long ticks = UnixEpochTicks + mtimeSec * TimeSpan.TicksPerSecond + mtimeNsec / 100;
                return new FileIdentity(kind, (devMajor << 32) | devMinor, ino, true, kind == FileKind.Regular ? size : 0, ticks, full,
                    ctimeSec * 1_000_000_000 + ctimeNsec, blocks < 0 || kind != FileKind.Regular ? -1 : blocks * 512);
            }

            private static readonly long UnixEpochTicks = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        }

        /// <summary>Windows: GetFileInformationByHandle gives the volume serial and the 64-bit file index.</summary>
        private static class Windows
        {
            [StructLayout(LayoutKind.Sequential)]
            private struct ByHandleFileInformation
            {
                public uint FileAttributes;
                public long CreationTime;
                public long LastAccessTime;
                public long LastWriteTime;
                public uint VolumeSerialNumber;
                public uint FileSizeHigh;
                public uint FileSizeLow;
                public uint NumberOfLinks;
                public uint FileIndexHigh;
                public uint FileIndexLow;
            }

            [DllImport("kernel32.dll", SetLastError = true)]
            private static extern bool GetFileInformationByHandle(SafeFileHandle file, out ByHandleFileInformation info);

            [DllImport("kernel32.dll", SetLastError = true)]
            private static extern uint GetFileType(SafeFileHandle file);

            [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
            private static extern SafeFileHandle CreateFileW(string name, uint access, uint share, IntPtr security, uint disposition, uint flags, IntPtr template);

            private const uint ShareAll = 7;             // read | write | delete
            private const uint OpenExisting = 3;
            private const uint BackupSemantics = 0x02000000; // lets CreateFile open directories

            public static FileIdentity OfPath(string full)
            {
                using var h = CreateFileW(full, 0, ShareAll, IntPtr.Zero, OpenExisting, BackupSemantics, IntPtr.Zero);
                if (h.IsInvalid) return File.Exists(full) || Directory.Exists(full) ? Portable(full) : new FileIdentity(FileKind.Missing, 0, 0, true, 0, 0, full);
                return OfHandle(h, full);
            }

            public static FileIdentity OfHandle(SafeFileHandle h, string full)
            {
                uint type = GetFileType(h);
                if (type == 2) return new FileIdentity(FileKind.CharacterDevice, 0, 0, false, 0, 0, full);
                if (type == 3) return new FileIdentity(FileKind.Fifo, 0, 0, false, 0, 0, full);
                if (!GetFileInformationByHandle(h, out var info)) return Portable(full);
                var kind = (info.FileAttributes & 0x10) != 0 ? FileKind.Directory : FileKind.Regular;
                long length = kind == FileKind.Regular ? ((long)info.FileSizeHigh << 32) | info.FileSizeLow : 0;
                long ticks = DateTime.FromFileTimeUtc(info.LastWriteTime).Ticks;
                ulong index = ((ulong)info.FileIndexHigh << 32) | info.FileIndexLow;
                return new FileIdentity(kind, info.VolumeSerialNumber, index, true, length, ticks, full);
            }
        }
    }
}
