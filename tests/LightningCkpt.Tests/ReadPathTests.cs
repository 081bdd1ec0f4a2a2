using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LightningCkpt.Data;
using LightningCkpt.Safety;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Tests that count the process's allocations (GC.GetTotalAllocatedBytes) must not run beside other test classes,
    /// whose allocations would be counted too.
    /// </summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class AllocationMeasuringCollection
    {
        public const string Name = "allocation measuring";
    }

    /// <summary>
    /// The read path against files that change while or after they are read (truncated between chunks, rewritten by a
    /// concurrent writer, replaced), and against files whose naive cost is set by their shape (expanded views,
    /// overlapping strides, deflated storages), and cancellation inside one tensor.
    /// </summary>
    [Collection(AllocationMeasuringCollection.Name)]
    public class ReadPathTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckread-" + Guid.NewGuid().ToString("N"));

        public ReadPathTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        private static string Costly(string name) => Path.Combine(RepoPaths.Fixtures, "costly", name);

        private static JsonElement Expect(string name) =>
            JsonDocument.Parse(File.ReadAllText(Costly("expect.json"))).RootElement.GetProperty(name);

        /// <summary>A torch-made checkpoint of one float32 tensor of <paramref name="numel"/> elements (several read chunks).</summary>
        private string TorchFile(string name, long numel, int seed, int extraTensors = 0)
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed");
            var path = Path.Combine(_dir, name);
            var code = $"import torch; g=torch.Generator().manual_seed({seed}); d={{'w': torch.randn({numel}, generator=g)}}; " +
                       $"d.update({{'x%d' % i: torch.ones(3) for i in range({extraTensors})}}); torch.save(d, r'{path}')";
            Assert.True(PythonOracle.Run($"-c \"{code}\"", out var output) == 0, output);
            return path;
        }

        private static CkptTensor Weight(Checkpoint c, string name = "w") => CkptTensor.List(c, true).Single(t => t.Name == name);

        /// <summary>
        /// Rewrites <paramref name="target"/> in place (truncate, then write: the same inode, as torch.save does). Not
        /// File.Copy: .NET's copy asks for an exclusive advisory lock, which torch never takes.
        /// </summary>
        private static void RewriteInPlace(string source, string target)
        {
            using var src = File.OpenRead(source);
            using var dst = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            src.CopyTo(dst);
        }

        [SkippableFact]
        public void TruncatedBetweenChunksIsOneCleanError()
        {
            var path = TorchFile("big.pt", 5_000_000, 1); // 20 MB: five read chunks
            var c = Checkpoint.Open(path);
            var t = Weight(c);
            using var reader = new TensorDataReader();
            int reads = 0;
            reader.BeforeStorageRead = (s, offset) =>
            {
                if (Interlocked.Increment(ref reads) == 2)
                    using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) fs.SetLength(fs.Length / 2);
            };
            var e = Assert.Throws<CheckpointFormatException>(() => TensorAnalysis.Analyze(t, reader, hash: true, statistics: true));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
            Assert.Contains(path, e.Message);
            Assert.Contains("changed while it was being read; retry", e.Message);
            Assert.Null(t.Sha256);
            Assert.Null(t.Mean);
        }

        [SkippableFact]
        public void RewrittenInPlaceBetweenChunksIsOneCleanError()
        {
            var path = TorchFile("big.pt", 5_000_000, 1);
            var other = TorchFile("other.pt", 5_000_000, 2, extraTensors: 1);
            var c = Checkpoint.Open(path);
            var t = Weight(c);
            using var reader = new TensorDataReader();
            int reads = 0;
            // File.Copy truncates and rewrites the same inode, as torch.save does
            reader.BeforeStorageRead = (s, offset) => { if (Interlocked.Increment(ref reads) == 3) RewriteInPlace(other, path); };
            var e = Assert.Throws<CheckpointFormatException>(() => reader.Sha256(t.Tensor));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
        }

        [SkippableFact]
        public void ConcurrentWriterGivesRightAnswersOrCleanErrors()
        {
            var a = TorchFile("a.pt", 3_000_000, 3);
            var b = TorchFile("b.pt", 3_000_000, 4, extraTensors: 2);
            string Hash(string p) { using var r = new TensorDataReader(); return r.Sha256(Weight(Checkpoint.Open(p)).Tensor); }
            var good = new HashSet<string> { Hash(a), Hash(b) };
            var target = Path.Combine(_dir, "last.ckpt");
            File.Copy(a, target);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(4));
            var writer = Task.Run(() =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    RewriteInPlace(i % 2 == 0 ? b : a, target); // like torch.save every epoch
                    Thread.Sleep(15);
                }
            });
            int answers = 0, errors = 0;
            var wrong = new List<string>();
            var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var t = Weight(Checkpoint.Open(target));
                        using var r = new TensorDataReader();
                        TensorAnalysis.Analyze(t, r, hash: true, statistics: true);
                        lock (wrong) { if (good.Contains(t.Sha256!)) answers++; else wrong.Add(t.Sha256!); }
                    }
                    catch (CheckpointFormatException) { Interlocked.Increment(ref errors); }
                    catch (InvalidOperationException) { Interlocked.Increment(ref errors); } // 'w' missing from a half-written pickle
                }
            })).ToArray();
            Task.WaitAll(readers);
            writer.Wait();
            Assert.Empty(wrong);
            Assert.True(answers + errors > 0);
        }

        [Fact]
        public void TensorOfAReplacedFileRefusesToRead()
        {
            var path = Path.Combine(_dir, "last.ckpt");
            File.Copy(Path.Combine(RepoPaths.FixtureFiles, "params_zip.pt"), path);
            var c = Checkpoint.Open(path);
            var t = CkptTensor.List(c, false).First(x => x.Numel > 1);
            Assert.NotEmpty(t.ToArray());

            // replaced by rename (a new inode at the same path)
            var next = Path.Combine(_dir, "next.ckpt");
            File.Copy(Path.Combine(RepoPaths.FixtureFiles, "lightning2_full.ckpt"), next);
            File.Move(next, path, true);
            var e = Assert.Throws<CheckpointFormatException>(() => t.ToArray());
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
            Assert.Contains("replaced", e.Message);
            using var reader = new TensorDataReader();
            Assert.Throws<CheckpointFormatException>(() => reader.Sha256(t.Tensor));

            // rewritten in place (same inode, new length)
            var c2 = Checkpoint.Open(path);
            var t2 = CkptTensor.List(c2, false).First();
            RewriteInPlace(Path.Combine(RepoPaths.FixtureFiles, "params_zip.pt"), path);
            e = Assert.Throws<CheckpointFormatException>(() => TensorAnalysis.Analyze(t2, new TensorDataReader(), hash: true, statistics: false));
            Assert.Contains("rewritten", e.Message);
        }

        /// <summary>Runs <paramref name="work"/> with a hang detector: an expanded view walked per position would take hours.</summary>
        private static async Task<T> Bounded<T>(Func<T> work)
        {
            var run = Task.Run(work);
            var first = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == run, "did not finish within 30 s: the cost follows the shape, not the file");
            return await run;
        }

        [Theory]
        [InlineData("expand_2pow40.pt")]
        [InlineData("expand_rows_2pow40.pt")]
        [InlineData("expand_broadcast.pt")]
        public async Task StatisticsOfExpandedViewsFollowTheirDistinctElements(string file)
        {
            var e = Expect(file);
            var t = await Bounded(() =>
            {
                var x = Weight(Checkpoint.Open(Costly(file)));
                TensorAnalysis.Analyze(x, new TensorDataReader(), hash: false, statistics: true);
                return x;
            });
            Assert.Equal(e.GetProperty("numel").GetInt64(), t.Numel);
            Assert.Equal(e.GetProperty("min").GetDouble(), t.Min);
            Assert.Equal(e.GetProperty("max").GetDouble(), t.Max);
            Assert.True(DataOracle.Close(e.GetProperty("mean").GetDouble(), t.Mean, 1e-12), $"mean {t.Mean:R}");
            Assert.True(DataOracle.Close(e.GetProperty("std").GetDouble(), t.Std, 1e-9), $"std {t.Std:R}");
            Assert.Equal(0, t.NaNCount);
        }

        [Fact]
        public void SmallExpandedViewsGiveTheSameStatisticsAndHashAsTheirMaterialisedElements()
        {
            var t = Weight(Checkpoint.Open(Costly("expand_broadcast.pt")));
            TensorAnalysis.Analyze(t, new TensorDataReader(), hash: true, statistics: true);
            var values = t.ToArray(long.MaxValue);
            Assert.Equal(values.Length, t.Numel);
            double mean = values.Average();
            Assert.Equal(mean, t.Mean!.Value, 9);
            Assert.Equal(values.Min(), t.Min);
            Assert.Equal(values.Max(), t.Max);
            // the hash is of every logical element, exactly as torch's contiguous bytes
            var bytes = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++) BitConverter.GetBytes((float)values[i]).CopyTo(bytes, i * 4);
            Assert.Equal(TensorDataReader.ToHex(System.Security.Cryptography.SHA256.HashData(bytes)), t.Sha256);
        }

        [Fact]
        public async Task MaterialisingHugeExpandedViewsIsACleanLimitError()
        {
            const string file = "expand_2pow40.pt";
            await Bounded(() =>
            {
                var c = Checkpoint.Open(Costly(file));
                var t = Weight(c);
                var e = Assert.Throws<CheckpointFormatException>(() => new TensorDataReader().Sha256(t.Tensor));
                Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
                Assert.Contains(Costly(file), e.Message);
                Assert.Throws<CheckpointFormatException>(() => t.ToArray(long.MaxValue));
                // a cast would write every element: refused before any byte is written
                var outFile = Path.Combine(Path.GetTempPath(), "ckread-" + Guid.NewGuid().ToString("N") + ".pt");
                var sel = WeightSelection.Select(c, new SelectOptions { CastTo = Torch.DType.Float16 });
                Assert.Throws<CheckpointFormatException>(() => WeightSelection.Write(c, sel, new SelectOptions { CastTo = Torch.DType.Float16 }, outFile, WeightsFileFormat.TorchZip, false));
                Assert.False(File.Exists(outFile));
                return 0;
            });
        }

        [Fact]
        public void LogicalSizesBeyondInt64AreACleanErrorAtOpen()
        {
            // zeros(1).expand(2**62): 2^62 float32 elements are 2^64 bytes, which no long holds
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Costly("expand_2pow62.pt")));
            Assert.Contains("overflows", e.Message);
            Assert.Contains(Costly("expand_2pow62.pt"), e.Message);
        }

        [Fact]
        public async Task TorchZipWriterKeepsExpandedViewsExpanded()
        {
            var outFile = Path.Combine(_dir, "copy.pt");
            await Bounded(() =>
            {
                var c = Checkpoint.Open(Costly("expand_2pow40.pt"));
                WeightSelection.Write(c, WeightSelection.Select(c, new SelectOptions()), new SelectOptions(), outFile, WeightsFileFormat.TorchZip, false);
                return 0;
            });
            Assert.True(new FileInfo(outFile).Length < 4096);
            var t = Weight(Checkpoint.Open(outFile));
            Assert.Equal(1L << 40, t.Numel);
            Assert.Equal(new long[] { 0 }, t.Stride);
        }

        [Fact]
        public async Task ComparingSharedExpansionsScalesTheDistinctSums()
        {
            var rows = await Bounded(() => CheckpointComparer.Compare(Checkpoint.Open(Costly("expand_ones_2pow40.pt")),
                Checkpoint.Open(Costly("expand_halves_2pow40.pt")), new CompareOptions { AllTensors = true }).Where(r => r.Kind == "Tensor").ToList());
            var d = Assert.Single(rows);
            Assert.Equal(DiffStatus.Changed, d.Status);
            Assert.Equal(0.5, d.MaxAbsDiff);
            Assert.Equal(0.5, d.MeanAbsDiff!.Value, 12);
            Assert.Equal(0.5, d.RelativeL2!.Value, 12);
            Assert.Equal(1.0, d.CosineSimilarity!.Value, 12);
            var same = await Bounded(() => CheckpointComparer.Compare(Checkpoint.Open(Costly("expand_ones_2pow40.pt")),
                Checkpoint.Open(Costly("expand_ones_2pow40.pt")), new CompareOptions { AllTensors = true, IncludeEqual = true }).Single(r => r.Kind == "Tensor"));
            Assert.Equal(DiffStatus.Equal, same.Status);
        }

        [Fact]
        public async Task OverlappingStridesBeyondTheLimitAreACleanError()
        {
            var t = Weight(Checkpoint.Open(Costly("overlap_strides.pt")));
            var e = await Bounded(() => Assert.Throws<CheckpointFormatException>(() => TensorAnalysis.Analyze(t, new TensorDataReader(), hash: false, statistics: true)));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
            var result = await Bounded(() => CheckpointValidator.Test(Costly("overlap_strides.pt"), new ValidateOptions { CheckValues = true }));
            Assert.NotNull(result);
        }

        [Fact]
        public async Task DeflatedStoragesInflateAsAStreamInBoundedMemory()
        {
            var e = Expect("deflated_zeros_256mb.pt");
            var c = Checkpoint.Open(Costly("deflated_zeros_256mb.pt"));
            var t = Weight(c);
            Assert.True(t.Tensor.Storage!.Entry!.IsDeflated);
            long before = GC.GetTotalAllocatedBytes(true);
            await Bounded(() => { TensorAnalysis.Analyze(t, new TensorDataReader(), hash: true, statistics: true); return 0; });
            long allocated = GC.GetTotalAllocatedBytes(true) - before;
            Assert.Equal(e.GetProperty("sha256").GetString(), t.Sha256);
            Assert.Equal(0.0, t.Max);
            Assert.Equal(1.0, t.ZeroFraction);
            Assert.True(allocated < 64L << 20, $"allocated {allocated >> 20} MB to read a 256 MB deflated storage");
        }

        [SkippableFact]
        public async Task CancellationStopsInsideOneTensor()
        {
            var path = TorchFile("big.pt", 20_000_000, 5); // 80 MB, one tensor
            var t = Weight(Checkpoint.Open(path));
            using var cancel = new CancellationTokenSource();
            var progress = new ReadProgress(cancel.Token);
            using var reader = new TensorDataReader(progress);
            // a slow disk: 200 ms per 4 MB chunk, so the whole tensor takes 4 s and a stop within one chunk is far below
            // the bound (which leaves room for a loaded, shared machine)
            reader.BeforeStorageRead = (s, offset) => { if (offset > 0) Thread.Sleep(200); };
            var run = Task.Run(() => TensorAnalysis.Analyze(t, reader, hash: true, statistics: true));
            while (progress.Bytes == 0 && !run.IsCompleted) await Task.Delay(5);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            Assert.True(clock.ElapsedMilliseconds < 1500, $"stopped {clock.ElapsedMilliseconds} ms after cancellation");
            Assert.InRange(progress.Bytes, 1, t.Bytes - 1); // counted in bytes, stopped inside the tensor
        }

        [SkippableFact]
        public void CancelledWriteLeavesNoOutputAndNoTempFile()
        {
            var path = TorchFile("big.pt", 20_000_000, 6);
            var c = Checkpoint.Open(path);
            var outDir = Path.Combine(_dir, "out");
            Directory.CreateDirectory(outDir);
            var outFile = Path.Combine(outDir, "weights.safetensors");
            using var cancel = new CancellationTokenSource();
            var options = new SelectOptions { Progress = new ReadProgress(cancel.Token), CastTo = Torch.DType.Float16 };
            var sel = WeightSelection.Select(c, options);
            var run = Task.Run(() => WeightSelection.Write(c, sel, options, outFile, WeightsFileFormat.Safetensors, false));
            while (options.Progress.Bytes == 0 && !run.IsCompleted) Thread.Sleep(1);
            cancel.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => run.GetAwaiter().GetResult());
            Assert.Empty(Directory.GetFileSystemEntries(outDir));
        }
    }
}
