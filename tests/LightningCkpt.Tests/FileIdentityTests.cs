using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using LightningCkpt.Container;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace LightningCkpt.Tests
{
    public class FileIdentityTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lckpt-identity-" + Guid.NewGuid().ToString("N"));

        public FileIdentityTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, true);

        private string Write(string name, string text)
        {
            var p = Path.Combine(_dir, name);
            File.WriteAllText(p, text);
            return p;
        }

        private static void Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }

        [Fact]
        public void ARegularFileHasItsKindLengthAndAFileId()
        {
            var id = FileIdentity.Of(Write("a.ckpt", "12345"));
            Assert.Equal(FileKind.Regular, id.Kind);
            Assert.Equal(5, id.Length);
            Assert.True(id.HasFileId || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux));
        }

        [Fact]
        public void TwoFilesWithTheSameContentAreDifferentFiles()
        {
            var a = FileIdentity.Of(Write("a.ckpt", "same"));
            var b = FileIdentity.Of(Write("b.ckpt", "same"));
            Assert.False(a.IsSameFile(b));
        }

        [Fact]
        public void AMissingPathIsMissingAndNeverTheSameFile()
        {
            var id = FileIdentity.Of(Path.Combine(_dir, "nothing.ckpt"));
            Assert.Equal(FileKind.Missing, id.Kind);
            Assert.False(id.IsSameFile(id));
        }

        [Fact]
        public void ADirectoryIsADirectory() => Assert.Equal(FileKind.Directory, FileIdentity.Of(_dir).Kind);

        [SkippableFact]
        public void SymlinksHardLinksAndProcCwdNameTheSameFile()
        {
            Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "Linux paths");
            var target = Write("real.ckpt", "x");
            var id = FileIdentity.Of(target);
            File.CreateSymbolicLink(Path.Combine(_dir, "link.ckpt"), target);
            Directory.CreateSymbolicLink(Path.Combine(_dir, "linkdir"), _dir);
            Run("ln", target, Path.Combine(_dir, "hard.ckpt"));
            Assert.True(id.IsSameFile(FileIdentity.Of(Path.Combine(_dir, "link.ckpt"))));
            Assert.True(id.IsSameFile(FileIdentity.Of(Path.Combine(_dir, "linkdir", "real.ckpt"))));
            Assert.True(id.IsSameFile(FileIdentity.Of(Path.Combine(_dir, "hard.ckpt"))));
            Assert.True(id.IsSameFile(FileIdentity.Of("/proc/self/root" + target)));
        }

        [SkippableFact]
        public void DevicesAndFifosAreNotRegularFiles()
        {
            Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "Linux device nodes");
            Assert.Equal(FileKind.CharacterDevice, FileIdentity.Of("/dev/null").Kind);
            var fifo = Path.Combine(_dir, "pipe");
            Run("mkfifo", fifo);
            Assert.Equal(FileKind.Fifo, FileIdentity.Of(fifo).Kind); // taken without opening: no hang
        }

        [Fact]
        public void ARewriteChangesTheStateButNotTheFile()
        {
            var p = Write("last.ckpt", "epoch 1");
            var before = FileIdentity.Of(p);
            File.SetLastWriteTimeUtc(p, before.LastWriteTimeUtc.AddSeconds(-5));
            var older = FileIdentity.Of(p);
            using (var fs = new FileStream(p, FileMode.Open, FileAccess.Write)) { fs.SetLength(0); fs.Write(new byte[] { 1, 2 }, 0, 2); }
            var after = FileIdentity.Of(p);
            Assert.True(older.IsSameFile(after));
            Assert.False(older.IsUnchangedIn(after));
            Assert.True(after.IsUnchangedIn(FileIdentity.Of(p)));
        }

        /// <summary>
        /// A same-length rewrite whose last-write time is put back (cp -p, touch -r, os.utime) keeps length and mtime;
        /// on Linux the status-change time still tells it apart.
        /// </summary>
        [SkippableFact]
        public void ARewriteWithItsLastWriteTimePutBackIsStillARewrite()
        {
            Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "statx ctime");
            var p = Write("last.ckpt", "epoch 1");
            var before = FileIdentity.Of(p);
            using (var fs = new FileStream(p, FileMode.Open, FileAccess.Write)) fs.Write(new byte[] { (byte)'E' }, 0, 1);
            File.SetLastWriteTimeUtc(p, before.LastWriteTimeUtc);
            var after = FileIdentity.Of(p);
            Assert.Equal(before.Length, after.Length);
            Assert.Equal(before.LastWriteTicksUtc, after.LastWriteTicksUtc);
            Assert.NotEqual(0, after.ChangeTimeNs);
            Assert.False(before.IsUnchangedIn(after));
            Assert.True(after.IsUnchangedIn(FileIdentity.Of(p)));
        }

        [Fact]
        public void AReplacedFileIsAnotherFile()
        {
            var p = Write("last.ckpt", "epoch 1");
            var before = FileIdentity.Of(p);
            var tmp = Write(".last.tmp", "epoch 2");
            File.Move(tmp, p, true);
            Assert.False(before.IsSameFile(FileIdentity.Of(p)) && RuntimeInformation.IsOSPlatform(OSPlatform.Linux));
        }

        [Fact]
        public void TheHandleIdentityIsThatOfTheOpenedFile()
        {
            var p = Write("a.ckpt", "abc");
            using var fs = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var byHandle = FileIdentity.Of(fs.SafeFileHandle, p);
            Assert.True(byHandle.IsUnchangedIn(FileIdentity.Of(p)));
            File.Delete(p);
            Write("a.ckpt", "abcdef");
            Assert.Equal(3, FileIdentity.Of(fs.SafeFileHandle, p).Length);
            Assert.False(byHandle.IsSameFile(FileIdentity.Of(p)) && RuntimeInformation.IsOSPlatform(OSPlatform.Linux));
        }
    }
}
