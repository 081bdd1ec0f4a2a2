using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Two writers to the same new -OutFile without -Force: the check and the move are one step, so exactly one wins (issue 25 item 6).</summary>
    public sealed class NoReplaceRenameTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-noreplace-" + Guid.NewGuid().ToString("N"));

        public NoReplaceRenameTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, true);

        [Fact]
        public void ATargetThatExistsIsNeverReplaced()
        {
            var temp = Path.Combine(_dir, "temp");
            var target = Path.Combine(_dir, "out.ckpt");
            File.WriteAllText(temp, "new");
            File.WriteAllText(target, "other writer");
            var e = Assert.Throws<CheckpointWriteException>(() => NoReplaceRename.Move(temp, target));
            Assert.Equal(CheckpointWriteErrorKind.OutputExists, e.Kind);
            Assert.Equal("other writer", File.ReadAllText(target));
            Assert.True(File.Exists(temp));

            File.Delete(target);
            NoReplaceRename.Move(temp, target);
            Assert.Equal("new", File.ReadAllText(target));
            Assert.False(File.Exists(temp));
        }

        [Fact]
        public void OfManyWritersToOneNewFileExactlyOneWins()
        {
            for (int round = 0; round < 20; round++)
            {
                var target = Path.Combine(_dir, $"out-{round}.ckpt");
                using var start = new Barrier(8);
                var results = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
                {
                    start.SignalAndWait();
                    try
                    {
                        AtomicFile.Write(target, overwrite: false, Array.Empty<string>(), s => s.Write(Encoding.ASCII.GetBytes("writer " + w), 0, 8));
                        return w;
                    }
                    catch (CheckpointWriteException e) when (e.Kind == CheckpointWriteErrorKind.OutputExists) { return -1; }
                })).ToArray().Select(t => t.Result).ToList(); // every writer started before any result is awaited
                var winners = results.Where(r => r >= 0).ToList();
                Assert.Single(winners);
                Assert.Equal("writer " + winners[0], File.ReadAllText(target));
            }
            Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        }
    }
}
