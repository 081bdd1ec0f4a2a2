using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using LightningCkpt.Container;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Inputs and outputs by identity (issue 12): whatever path spelling reaches an input — a symlink to it, a
    /// symlinked folder, a hard link, /proc/self/root/… — the writers refuse it even with overwrite; devices, FIFOs and
    /// directories are never replaced; a FIFO input is a clean error without blocking; temporary files never outlive
    /// a failed, cancelled or killed write for long.
    /// </summary>
    public sealed class OutputGuardTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckptguard-" + Guid.NewGuid().ToString("N"));
        private readonly string _input;
        private readonly byte[] _inputBytes;

        public OutputGuardTests()
        {
            Directory.CreateDirectory(_dir);
            _input = Path.Combine(_dir, "input.ckpt");
            File.Copy(Path.Combine(RepoPaths.FixtureFiles, "params_zip.pt"), _input);
            _inputBytes = File.ReadAllBytes(_input);
        }

        public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

        private static bool IsUnix => !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        private void WriteSelection(string outFile, bool overwrite, CancellationToken cancel = default)
        {
            var src = Checkpoint.Open(_input);
            var sel = WeightSelection.Select(src, new SelectOptions());
            WeightSelection.Write(src, sel, new SelectOptions { Progress = new LightningCkpt.Data.ReadProgress(cancel) }, outFile, WeightsFileFormat.TorchZip, overwrite);
        }

        private void AssertRefused(string outFile, CheckpointWriteErrorKind kind)
        {
            var e = Assert.Throws<CheckpointWriteException>(() => WriteSelection(outFile, overwrite: true));
            Assert.Equal(kind, e.Kind);
            Assert.Equal(_inputBytes, File.ReadAllBytes(_input));
            Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        }

        [SkippableFact]
        public void SymlinkToTheInputIsRefusedWithForce()
        {
            Skip.IfNot(IsUnix, "symlinks need privileges on Windows");
            var link = Path.Combine(_dir, "link.ckpt");
            File.CreateSymbolicLink(link, _input);
            AssertRefused(link, CheckpointWriteErrorKind.OutputIsInput);
            Assert.True(new FileInfo(link).LinkTarget != null, "the link itself was replaced");
        }

        [SkippableFact]
        public void InputThroughASymlinkedFolderIsRefused()
        {
            Skip.IfNot(IsUnix, "symlinks need privileges on Windows");
            var folderLink = Path.Combine(_dir, "alias");
            Directory.CreateSymbolicLink(folderLink, _dir);
            AssertRefused(Path.Combine(folderLink, "input.ckpt"), CheckpointWriteErrorKind.OutputIsInput);
        }

        [SkippableFact]
        public void InputThroughProcSelfIsRefused()
        {
            Skip.IfNot(Directory.Exists("/proc/self/root"), "no /proc");
            AssertRefused("/proc/self/root" + _input, CheckpointWriteErrorKind.OutputIsInput);
            // /proc/self/cwd is the same kind of alias: a child process started in the folder sees the input through it
            Assert.True(FileIdentity.Of("/proc/self/root" + _input).IsSameFile(FileIdentity.Of(_input)));
        }

        [SkippableFact]
        public void HardLinkToTheInputIsRefused()
        {
            Skip.IfNot(IsUnix, "ln is a Unix tool here");
            var hard = Path.Combine(_dir, "hard.ckpt");
            Run("ln", _input, hard);
            AssertRefused(hard, CheckpointWriteErrorKind.OutputIsInput);
        }

        [SkippableFact]
        public void DevNullIsNeverReplaced()
        {
            Skip.IfNot(File.Exists("/dev/null"), "no /dev/null");
            var e = Assert.Throws<CheckpointWriteException>(() => WriteSelection("/dev/null", overwrite: true));
            Assert.Equal(CheckpointWriteErrorKind.OutputNotAFile, e.Kind);
            Assert.Equal(FileKind.CharacterDevice, FileIdentity.Of("/dev/null").Kind);
            Assert.Empty(Directory.GetFiles("/dev", ".null.lckpt-*"));
        }

        [SkippableFact]
        public async Task FifoTargetIsRefusedAndFifoInputIsACleanErrorWithoutBlocking()
        {
            Skip.IfNot(IsUnix, "mkfifo is Unix");
            var fifo = Path.Combine(_dir, "pipe.ckpt");
            Run("mkfifo", fifo);
            AssertRefused(fifo, CheckpointWriteErrorKind.OutputNotAFile);
            Assert.Equal(FileKind.Fifo, FileIdentity.Of(fifo).Kind);

            var open = Task.Run(() => Checkpoint.Open(fifo));
            Assert.Same(open, await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10)))); // a blocked open never returns
            var e = Assert.IsType<CheckpointFormatException>(open.Exception!.InnerException);
            Assert.Equal(CheckpointErrorKind.NotACheckpoint, e.Kind);
            Assert.Contains("FIFO", e.Reason);
        }

        [Fact]
        public void DirectoryTargetIsRefused()
        {
            var sub = Directory.CreateDirectory(Path.Combine(_dir, "sub.ckpt")).FullName;
            AssertRefused(sub, CheckpointWriteErrorKind.OutputNotAFile);
        }

        [Fact]
        public void ExistingTargetNeedsOverwriteAndTheGuardSaysWhy()
        {
            var target = Path.Combine(_dir, "out.ckpt");
            File.WriteAllText(target, "keep");
            var e = Assert.Throws<CheckpointWriteException>(() => OutputGuard.Check(target, new[] { _input }, overwrite: false));
            Assert.Equal(CheckpointWriteErrorKind.OutputExists, e.Kind);
            Assert.Equal(FileKind.Regular, OutputGuard.Check(target, new[] { _input }, overwrite: true).Kind);
            Assert.False(OutputGuard.Check(Path.Combine(_dir, "new.ckpt"), new[] { _input }, overwrite: false).Exists);
            var missing = Assert.Throws<CheckpointWriteException>(() => OutputGuard.Check(Path.Combine(_dir, "nope", "x.ckpt"), new[] { _input }, false));
            Assert.Equal(CheckpointWriteErrorKind.OutputFolderMissing, missing.Kind);
        }

        [Fact]
        public void TemporaryFilesHaveOurNameAndStaleOnesAreRemovedByTheNextWrite()
        {
            var target = Path.Combine(_dir, "out.ckpt");
            var stale = Path.Combine(_dir, ".out.ckpt.lckpt-0123456789ab.tmp");
            var fresh = Path.Combine(_dir, ".other.ckpt.lckpt-ba9876543210.tmp");
            var held = Path.Combine(_dir, ".held.ckpt.lckpt-aaaaaaaaaaaa.tmp");
            var foreign = Path.Combine(_dir, ".somebody-elses.tmp");
            foreach (var f in new[] { stale, fresh, held, foreign }) File.WriteAllText(f, "x");
            var old = DateTime.UtcNow - TimeSpan.FromMinutes(5);
            foreach (var f in new[] { stale, held, foreign }) File.SetLastWriteTimeUtc(f, old);
            using (new FileStream(held, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) // a live writer holds its temp
                WriteSelection(target, overwrite: false);
            Assert.False(File.Exists(stale), "a stale temporary file of ours survived the next write");
            Assert.True(File.Exists(fresh), "a temporary file written seconds ago was removed");
            Assert.True(File.Exists(held), "a temporary file a live writer holds was removed");
            Assert.True(File.Exists(foreign), "a file that is not ours was removed");
            Assert.True(TempFiles.IsOurs(Path.GetFileName(TempFiles.NewPath(target))));
            Assert.False(TempFiles.IsOurs(".out.ckpt.tmp"));
        }

        [Fact]
        public void CancelledWriteLeavesNoTemporaryFileAndTheTargetAsItWas()
        {
            var target = Path.Combine(_dir, "out.ckpt");
            File.WriteAllText(target, "previous");
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => WriteSelection(target, overwrite: true, cts.Token));
            Assert.Equal("previous", File.ReadAllText(target));
            Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        }

        [Fact]
        public void FailedWriteIsOneStableExceptionAndLeavesNoTemporaryFile()
        {
            var target = Path.Combine(_dir, "out.ckpt");
            WriterHooks.FailAfterBytes = 100;
            try
            {
                var e = Assert.Throws<CheckpointWriteException>(() => WriteSelection(target, overwrite: false));
                Assert.Equal(CheckpointWriteErrorKind.WriteFailed, e.Kind);
                Assert.IsType<IOException>(e.InnerException);
            }
            finally { WriterHooks.FailAfterBytes = null; }
            Assert.False(File.Exists(target));
            Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        }

        private static void Run(string tool, params string[] args)
        {
            var psi = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, tool + " failed: " + p.StandardError.ReadToEnd());
        }
    }
}
