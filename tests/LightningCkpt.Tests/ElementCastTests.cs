using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The block casts give torch's bits: float32 → float16/bfloat16/float64, float64 → float32/float16/bfloat16 and
    /// the way back, over the values where rounding is decided (ties, subnormals, overflow edges, NaN and infinities of
    /// both signs) and random values; torch casts the same inputs as the oracle.
    /// </summary>
    public class ElementCastTests
    {
        private static float[] Inputs()
        {
            var bits = new List<uint>();
            foreach (uint hi in new uint[] { 0x00000000, 0x00800000, 0x33000000, 0x33800000, 0x38000000, 0x387FC000, 0x38800000, 0x3F800000, 0x477FE000, 0x477FF000, 0x47800000, 0x7F7F0000, 0x7F800000, 0x7FC00000, 0x7F800001 })
                foreach (uint lo in new uint[] { 0, 1, 0xFFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x7FFF, 0x8000, 0x8001, 0x18000, 0xFFFF })
                {
                    bits.Add(hi + lo);
                    bits.Add((hi + lo) | 0x80000000);
                }
            var rng = new Random(11);
            for (int i = 0; i < 20000; i++) bits.Add((uint)rng.Next() * 2u + (uint)rng.Next(2));
            for (int i = 0; i < 5000; i++) bits.Add(BitConverter.ToUInt32(BitConverter.GetBytes((float)(rng.NextDouble() * 0.04 - 0.02)), 0));
            return bits.Select(b => BitConverter.ToSingle(BitConverter.GetBytes(b), 0)).ToArray();
        }

        private static unsafe byte[] Cast(byte[] src, DType from, DType to)
        {
            int n = src.Length / from.ItemSize;
            var dst = new byte[n * to.ItemSize];
            fixed (byte* s = src) fixed (byte* d = dst) ElementCast.Cast(s, from, n, to, d);
            return dst;
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void FloatCastsGiveTorchsBits(string oracleName)
        {
            var oracle = TorchOracle.Named(oracleName);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var f32 = Inputs().SelectMany(BitConverter.GetBytes).ToArray();
            var f64 = Cast(f32, DType.Float32, DType.Float64);
            // doubles just off the float32 grid too: torch's double → half/bfloat16 goes through float32 as well
            var rng = new Random(5);
            var f64Extra = Enumerable.Range(0, 5000).Select(_ => (rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 20))).SelectMany(BitConverter.GetBytes).ToArray();
            f64 = f64.Concat(f64Extra).ToArray();
            string script = @"
import sys, base64, torch, numpy as np
f32 = torch.from_numpy(np.frombuffer(base64.b64decode(sys.stdin.readline()), dtype=np.float32).copy())
f64 = torch.from_numpy(np.frombuffer(base64.b64decode(sys.stdin.readline()), dtype=np.float64).copy())
def out(t):
    print(base64.b64encode(t.contiguous().view(torch.uint8).numpy().tobytes()).decode())
for t in (f32, f64):
    out(t.to(torch.float16)); out(t.to(torch.bfloat16)); out(t.to(torch.float32) if t.dtype == torch.float64 else t.to(torch.float64))
h = f32.to(torch.float16); b = f32.to(torch.bfloat16)
out(h.to(torch.float32)); out(b.to(torch.float32)); out(h.to(torch.bfloat16)); out(b.to(torch.float16))
";
            string stdin = Convert.ToBase64String(f32) + "\n" + Convert.ToBase64String(f64) + "\n";
            Assert.True(oracle.Run("-c \"" + script.Replace("\"", "\\\"") + "\"", out var output, stdin) == 0, output);
            var lines = output.Trim().Split('\n').Select(l => Convert.FromBase64String(l.Trim())).ToArray();
            Assert.Equal(10, lines.Length);
            // the inputs stay below torch's grain (one thread) and their NaNs outside the last 16 elements, so torch's
            // float64 → bfloat16 writes every NaN in its vector body: 0xFFFF (its scalar tail would write 0x7FC0)
            Assert.True(f64.Length / 8 < 32768 && Enumerable.Range(f64.Length / 8 - 16, 16).All(i => !double.IsNaN(BitConverter.ToDouble(f64, i * 8))));
            bool torch1 = !oracle.IsTorch2;
            AssertBits(lines[0], Cast(f32, DType.Float32, DType.Float16), "float32 → float16", DType.Float16, torch1);
            AssertBits(lines[1], Cast(f32, DType.Float32, DType.BFloat16), "float32 → bfloat16", DType.BFloat16);
            AssertBits(lines[2], Cast(f32, DType.Float32, DType.Float64), "float32 → float64", DType.Float64);
            AssertBits(lines[3], Cast(f64, DType.Float64, DType.Float16), "float64 → float16", DType.Float16, torch1);
            AssertBits(lines[4], Cast(f64, DType.Float64, DType.BFloat16), "float64 → bfloat16", DType.BFloat16);
            AssertBits(lines[5], Cast(f64, DType.Float64, DType.Float32), "float64 → float32", DType.Float32);
            var h = Cast(f32, DType.Float32, DType.Float16);
            var b = Cast(f32, DType.Float32, DType.BFloat16);
            AssertBits(lines[6], Cast(h, DType.Float16, DType.Float32), "float16 → float32", DType.Float32, torch1);
            AssertBits(lines[7], Cast(b, DType.BFloat16, DType.Float32), "bfloat16 → float32", DType.Float32);
            AssertBits(lines[8], Cast(h, DType.Float16, DType.BFloat16), "float16 → bfloat16", DType.BFloat16);
            AssertBits(lines[9], Cast(b, DType.BFloat16, DType.Float16), "bfloat16 → float16", DType.Float16, torch1);
        }

        /// <summary>
        /// Bit for bit. <paramref name="nanSignOnly"/>: torch 1.13 wrote every float16 NaN as sign | 0x7E00, torch
        /// 2.14 (and we) keep the top payload bits as x86's F16C does; against 1.13 a NaN made through float16 must be a
        /// NaN of the same sign.
        /// </summary>
        private static void AssertBits(byte[] expected, byte[] actual, string what, DType d, bool nanSignOnly = false)
        {
            int item = d.ItemSize;
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i += item)
            {
                if (expected.AsSpan(i, item).SequenceEqual(actual.AsSpan(i, item))) continue;
                if (nanSignOnly && double.IsNaN(ElementDecoder.ToDouble(expected, i, d)) && double.IsNaN(ElementDecoder.ToDouble(actual, i, d))
                    && (expected[i + item - 1] & 0x80) == (actual[i + item - 1] & 0x80)) continue;
                Assert.Fail($"{what}: element {i / item} is {Convert.ToHexString(actual, i, item)}, torch gives {Convert.ToHexString(expected, i, item)}");
            }
        }

        /// <summary>
        /// float32 → each float8 format against torch 2.14's .to(dtype): every float32 whose low 16 bits are one of
        /// the patterns that decide a rounding (0, 1, just below, at and above half, all ones), under all 65536 upper
        /// halves (every sign, exponent and the mantissa bits any float8 keeps or rounds on), and random floats; then the
        /// same through float64 (torch rounds a double through float32 as well).
        /// </summary>
        [SkippableFact]
        public void Float8EncodersGiveTorch2sBits()
        {
            var oracle = TorchOracle.Torch2;
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var bits = new List<uint>();
            for (uint hi = 0; hi < 0x10000; hi++)
                foreach (uint lo in new uint[] { 0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF })
                    bits.Add(hi << 16 | lo);
            var rng = new Random(8);
            for (int i = 0; i < 100000; i++) bits.Add((uint)rng.Next() * 2u + (uint)rng.Next(2));
            var f32 = bits.SelectMany(BitConverter.GetBytes).ToArray();
            var f64 = Cast(f32, DType.Float32, DType.Float64);
            var targets = new[] { DType.Float8E4M3Fn, DType.Float8E5M2, DType.Float8E4M3Fnuz, DType.Float8E5M2Fnuz, DType.Float8E8M0Fnu };
            string script = @"
import sys, base64, torch, numpy as np
f32 = torch.from_numpy(np.frombuffer(base64.b64decode(sys.stdin.readline()), dtype=np.float32).copy())
for name in sys.argv[1:]:
    print(base64.b64encode(f32.to(getattr(torch, name)).view(torch.uint8).numpy().tobytes()).decode())
    print(base64.b64encode(f32.double().to(getattr(torch, name)).view(torch.uint8).numpy().tobytes()).decode())
";
            var scriptFile = Path.Combine(Path.GetTempPath(), "ckpt-f8-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".py");
            File.WriteAllText(scriptFile, script);
            try
            {
                Assert.True(oracle.Run($"\"{scriptFile}\" " + string.Join(" ", targets.Select(t => t.Name)), out var output, Convert.ToBase64String(f32) + "\n") == 0, output);
                var lines = output.Trim().Split('\n').Select(l => Convert.FromBase64String(l.Trim())).ToArray();
                Assert.Equal(2 * targets.Length, lines.Length);
                for (int k = 0; k < targets.Length; k++)
                {
                    AssertBits(lines[2 * k], Cast(f32, DType.Float32, targets[k]), "float32 → " + targets[k].Name, targets[k]);
                    AssertBits(lines[2 * k + 1], Cast(f64, DType.Float64, targets[k]), "float64 → " + targets[k].Name, targets[k]);
                }
            }
            finally { File.Delete(scriptFile); }
        }

        /// <summary>
        /// Every byte of each float8 format cast to the -DType targets (float16, bfloat16, float32, float64) against torch
        /// 2.14, NaN bits included: e4m3fn's NaN widens as 0x7FF00000, the fnuz/e8m0fnu NaN is the signalling float32
        /// 0x7F800001, bfloat16 gets c10's scalar 0x7FC0.
        /// </summary>
        [SkippableFact]
        public void Float8SourcesCastToTorch2sBits()
        {
            var oracle = TorchOracle.Torch2;
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var sources = new[] { DType.Float8E4M3Fn, DType.Float8E5M2, DType.Float8E4M3Fnuz, DType.Float8E5M2Fnuz, DType.Float8E8M0Fnu };
            var targets = new[] { DType.Float16, DType.BFloat16, DType.Float32, DType.Float64 };
            var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
            string script = "import sys, base64, torch\n"
                + "u = torch.arange(256, dtype=torch.int32).to(torch.uint8)\n"
                + "for s in sys.argv[1].split(','):\n"
                + "    for t in sys.argv[2].split(','):\n"
                + "        print(base64.b64encode(u.view(getattr(torch, s)).to(getattr(torch, t)).view(torch.uint8).numpy().tobytes()).decode())\n";
            var scriptFile = Path.Combine(Path.GetTempPath(), "ckpt-f8src-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".py");
            File.WriteAllText(scriptFile, script);
            try
            {
                Assert.True(oracle.Run($"\"{scriptFile}\" {string.Join(",", sources.Select(d => d.Name))} {string.Join(",", targets.Select(d => d.Name))}", out var output) == 0, output);
                var lines = output.Trim().Split('\n').Select(l => Convert.FromBase64String(l.Trim())).ToArray();
                Assert.Equal(sources.Length * targets.Length, lines.Length);
                int k = 0;
                foreach (var from in sources)
                    foreach (var to in targets)
                        AssertBits(lines[k++], Cast(all, from, to), $"{from.Name} → {to.Name}", to);
            }
            finally { File.Delete(scriptFile); }
        }

        [Fact]
        public unsafe void BlockEncodeMatchesTheElementEncoder()
        {
            var rng = new Random(3);
            var values = Enumerable.Range(0, 4000).Select(i => i % 7 == 0 ? double.NaN : i % 11 == 0 ? -0.0 : (rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-40, 70))).ToArray();
            foreach (var d in new[] { DType.Float64, DType.Float32, DType.Float16, DType.BFloat16, DType.Int8, DType.UInt8, DType.Int16, DType.Int32, DType.Int64, DType.Bool, DType.Float8E4M3Fn, DType.Float8E5M2, DType.Float8E4M3Fnuz, DType.Float8E5M2Fnuz, DType.Float8E8M0Fnu })
            {
                var one = new byte[values.Length * d.ItemSize];
                for (int i = 0; i < values.Length; i++) ElementEncoder.Encode(values[i], d, one, i * d.ItemSize);
                var block = new byte[one.Length];
                fixed (double* v = values) fixed (byte* o = block) ElementCast.Encode(v, values.Length, d, o);
                Assert.True(one.SequenceEqual(block), d.Name);
            }
        }
    }
}
