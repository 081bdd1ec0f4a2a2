using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The fast paths of the writers give exactly the bytes of the plain ones: the Vector&lt;T&gt; float32 →
    /// bfloat16/float16 casts against the scalar encoders, the vectorised float32 weighted mean against the scalar
    /// block loop (NaN payloads and signed zeros included), Merge-CkptWeights over several read windows and
    /// non-contiguous views against torch, and the output flushed beside the writing.
    /// </summary>
    public sealed class WriteSpeedPathTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lckpt-writespeed-" + Guid.NewGuid().ToString("N"));

        public WriteSpeedPathTests() => Directory.CreateDirectory(_dir);

        public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

        /// <summary>
        /// Every high half of the float32 bits (all exponents, signs, NaN and infinity classes) with the low halves
        /// where rounding is decided (ties, ±1 around them, the bits bfloat16 and float16 keep or drop) and random ones.
        /// </summary>
        private static uint[] RoundingInputs(int seed)
        {
            var lows = new uint[] { 0, 1, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x2001, 0x3000, 0x7FFF, 0x8000, 0x8001, 0xC000, 0xFFFF };
            var rng = new Random(seed);
            var bits = new List<uint>(65536 * (lows.Length + 2));
            for (uint hi = 0; hi < 65536; hi++)
            {
                foreach (var lo in lows) bits.Add(hi << 16 | lo);
                bits.Add(hi << 16 | (uint)rng.Next(65536));
                bits.Add(hi << 16 | (uint)rng.Next(65536));
            }
            bits.Add(0x7FC00000); // an odd count leaves a scalar tail too
            return bits.ToArray();
        }

        [SkippableFact]
        public unsafe void VectorCastsGiveTheScalarBits()
        {
            Skip.IfNot(SimdKernels.Available, "Vector<T> is not hardware-accelerated here: the scalar casts are the only path");
            var input = RoundingInputs(Environment.TickCount);
            int n = input.Length;
            var vb = new ushort[n]; var vh = new ushort[n];
            fixed (uint* x = input) fixed (ushort* b = vb) fixed (ushort* h = vh)
            {
                int doneB = VectorCasts.Float32ToBFloat16((float*)x, n, b);
                int doneH = VectorCasts.Float32ToHalf((float*)x, n, h);
                Assert.True(doneB > n - 64 && doneH > n - 64, "the vector loops stopped early");
                for (int i = 0; i < doneB; i++)
                {
                    float f = ((float*)x)[i];
                    if (vb[i] != ElementEncoder.ToBFloat16(f)) Assert.Fail($"bfloat16 of {input[i]:X8}: vector {vb[i]:X4}, scalar {ElementEncoder.ToBFloat16(f):X4}");
                }
                for (int i = 0; i < doneH; i++)
                {
                    float f = ((float*)x)[i];
                    if (vh[i] != ElementEncoder.ToHalf(f)) Assert.Fail($"float16 of {input[i]:X8}: vector {vh[i]:X4}, scalar {ElementEncoder.ToHalf(f):X4}");
                }
            }
            // and through the block cast the writers call, tail included
            var bytes = new byte[n * 4];
            Buffer.BlockCopy(input, 0, bytes, 0, bytes.Length);
            foreach (var to in new[] { DType.BFloat16, DType.Float16 })
            {
                var block = new byte[n * 2];
                fixed (byte* s = bytes) fixed (byte* d = block) ElementCast.Cast(s, DType.Float32, n, to, d);
                for (int i = 0; i < n; i++)
                {
                    float f = BitConverter.ToSingle(bytes, i * 4);
                    ushort want = ReferenceEquals(to, DType.BFloat16) ? ElementEncoder.ToBFloat16(f) : ElementEncoder.ToHalf(f);
                    ushort got = (ushort)(block[2 * i] | block[2 * i + 1] << 8);
                    if (got != want) Assert.Fail($"{to.Name} cast of {input[i]:X8}: {got:X4}, the scalar encoder gives {want:X4}");
                }
            }
        }

        /// <summary>float32 runs with NaNs of different payloads and signs, ±0, ±infinity, subnormals, and ordinary values.</summary>
        private static float[] MeanInput(Random rng, int n)
        {
            var specials = new uint[] { 0x7FC00000, 0xFFC00001, 0x7FA00005, 0x7F800000, 0xFF800000, 0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0xFF7FFFFF };
            var a = new float[n];
            for (int i = 0; i < n; i++)
            {
                uint bits = rng.Next(5) == 0 ? specials[rng.Next(specials.Length)] : BitConverter.ToUInt32(BitConverter.GetBytes((float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-140, 128)))), 0);
                a[i] = BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
            }
            return a;
        }

        [SkippableTheory]
        [InlineData(1, false)]
        [InlineData(2, false)]
        [InlineData(3, true)]
        [InlineData(5, true)]
        public unsafe void VectorMeanGivesTheScalarBits(int inputs, bool weighted)
        {
            Skip.IfNot(SimdKernels.Available, "Vector<T> is not hardware-accelerated here: the scalar mean is the only path");
            var rng = new Random(Environment.TickCount ^ inputs);
            const int n = 4099; // not a whole number of vectors
            var data = Enumerable.Range(0, inputs).Select(_ => MeanInput(rng, n)).ToArray();
            double[] w;
            double divide;
            if (weighted)
            {
                w = Enumerable.Range(0, inputs).Select(_ => rng.NextDouble() + 0.01).ToArray();
                double sum = w.Sum();
                w = w.Select(x => x / sum).ToArray();
                divide = 1;
            }
            else { w = Enumerable.Repeat(1.0, inputs).ToArray(); divide = inputs; }
            var fast = new byte[n * 4];
            var plain = new byte[n * 4];
            var handles = data.Select(d => System.Runtime.InteropServices.GCHandle.Alloc(d, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
            try
            {
                var ptrs = new byte*[inputs];
                for (int k = 0; k < inputs; k++) ptrs[k] = (byte*)handles[k].AddrOfPinnedObject();
                fixed (byte* f = fast) WeightedMean.Compute(ptrs, w, divide, DType.Float32, n, f);
                fixed (byte* p = plain) WeightedMean.Blocks(ptrs, w, divide, DType.Float32, 0, n, p);
            }
            finally { foreach (var h in handles) h.Free(); }
            for (int i = 0; i < n; i++)
            {
                uint a = BitConverter.ToUInt32(fast, 4 * i), b = BitConverter.ToUInt32(plain, 4 * i);
                if (a != b)
                    Assert.Fail($"element {i} (inputs {string.Join(", ", data.Select(d => BitConverter.ToUInt32(BitConverter.GetBytes(d[i]), 0).ToString("X8")))}): vector {a:X8}, scalar {b:X8}");
            }
        }

        [Fact]
        public void OutputIsFlushedBesideTheWritingAndComesOutWhole()
        {
            string path = Path.Combine(_dir, "flushed.bin");
            var chunk = new byte[1 << 16];
            new Random(7).NextBytes(chunk);
            int flushes;
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var s = new EarlyWriteback(fs, stretch: 1 << 18))
            {
                for (int i = 0; i < 32; i++) { chunk[0] = (byte)i; s.Write(chunk, 0, chunk.Length); }
                s.Write(chunk, 0, 100); // a buffered tail
                // the flusher runs on its own thread: give it time to do at least one (Complete skips a pending one)
                var wait = Stopwatch.StartNew();
                while (EarlyWriteback.Supported && s.Flushes == 0 && wait.Elapsed < TimeSpan.FromSeconds(30)) System.Threading.Thread.Sleep(5);
                s.Complete();
                fs.Flush(true);
                flushes = s.Flushes;
                Assert.True(flushes <= s.Requests);
                if (EarlyWriteback.Supported) Assert.True(s.Requests >= 7, $"{s.Requests} flushes asked for 2 MB written in stretches of 256 KB");
            }
            var back = File.ReadAllBytes(path);
            Assert.Equal(32 * chunk.Length + 100, back.Length);
            for (int i = 0; i < 32; i++) Assert.Equal((byte)i, back[i * chunk.Length]);
            Assert.True(back.AsSpan(32 * chunk.Length, 100).SequenceEqual(chunk.AsSpan(0, 100)));
            if (EarlyWriteback.Supported) Assert.True(flushes >= 1, "no flush ran beside the writing");
            else Assert.Equal(0, flushes);
        }

        [Fact]
        public void AbandonedWriteStopsTheFlusher()
        {
            string path = Path.Combine(_dir, "abandoned.bin");
            var chunk = new byte[1 << 16];
            var sw = Stopwatch.StartNew();
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var s = new EarlyWriteback(fs, stretch: 1 << 16))
            {
                for (int i = 0; i < 8; i++) s.Write(chunk, 0, chunk.Length);
                // no Complete: a failed body leaves through Dispose, which must end the flusher before the file closes
            }
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60));
            Assert.Equal(8L << 16, new FileInfo(path).Length);
        }

        /// <summary>
        /// Merge of 2 and 5 torch-written checkpoints (fresh seed) whose tensors span several read windows, one of
        /// them a transposed (non-contiguous) view, in float32/float16/bfloat16/float64 with NaN, ±inf and ±0 inside,
        /// against torch's float64 mean cast back; the output must load with weights_only.
        /// </summary>
        [SkippableTheory]
        [InlineData(2)]
        [InlineData(5)]
        public void MergeOverManyWindowsMatchesTorch(int count)
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed");
            int seed = Environment.TickCount & 0x7FFFFFFF;
            var files = Enumerable.Range(0, count).Select(i => Path.Combine(_dir, $"in{i}.ckpt")).ToArray();
            const string make = @"
import sys, collections, torch
seed = int(sys.argv[1]); g = torch.Generator().manual_seed(seed)
for path in sys.argv[2:]:
    sd = collections.OrderedDict()
    big = torch.randn(1100, 1000, generator=g)
    big.view(-1)[::9973] = float('nan'); big.view(-1)[5::9973] = float('inf'); big.view(-1)[7::9973] = -0.0
    sd['big'] = big
    sd['transposed'] = torch.randn(700, 900, generator=g).t()
    sd['half'] = torch.randn(600001, generator=g).half()
    sd['bf16'] = torch.randn(600001, generator=g).bfloat16()
    sd['f64'] = torch.randn(600001, generator=g).double()
    sd['steps'] = torch.arange(10)
    torch.save({'state_dict': sd, 'epoch': 1, 'global_step': 2, 'pytorch-lightning_version': '2.1.0'}, path)
";
            var args = "-c \"" + make.Replace("\"", "\\\"") + "\" " + seed + " " + string.Join(" ", files.Select(f => "\"" + f + "\""));
            Assert.True(PythonOracle.Run(args, out var made) == 0, made);
            var inputs = files.Select(Checkpoint.Open).ToList();
            string outFile = Path.Combine(_dir, "merged.pt");
            WeightsAverager.Merge(inputs, null, outFile, WeightsFileFormat.TorchZip, false, null);
            var oracle = "\"" + Path.Combine(RepoPaths.Fixtures, "writer_oracle.py") + "\" average \"" + outFile + "\" " + string.Join(" ", files.Select(f => "\"" + f + "\""));
            Assert.True(PythonOracle.Run(oracle, out var json) == 0, json);
            Assert.Contains("\"mismatch\": []", json);
            Assert.Contains("\"count\": 6", json);
        }
    }
}
