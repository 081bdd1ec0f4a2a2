using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Data;
using LightningCkpt.Lightning;
using LightningCkpt.Torch;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Compares what we read from a file with the truth JSON torch produced for it, field by field.</summary>
    internal static class TruthComparer
    {
        /// <param name="gatherWindowBytes">when set, strided views are read through windows this small (BlockGather)</param>
        public static void AssertMatches(string filePath, JsonElement truth, int? gatherWindowBytes = null)
        {
            var error = truth.GetProperty("error");
            if (error.ValueKind != JsonValueKind.Null)
            {
                var ex = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(filePath));
                Assert.Contains(filePath, ex.Message);
                Assert.DoesNotContain(Checkpoint.InternalErrorPrefix, ex.Message);
                return;
            }
            var c = Checkpoint.Open(filePath);
            Assert.Equal(truth.GetProperty("format").GetString(), c.Format.ToString().ToLowerInvariant());
            if (truth.GetProperty("protocol").ValueKind == JsonValueKind.Number)
                Assert.Equal(truth.GetProperty("protocol").GetInt32(), c.Protocol);
            AssertTopLevel(c, truth);
            Assert.Equal(truth.GetProperty("globals").EnumerateArray().Select(g => g.GetString()!).ToArray(), c.Globals.Select(g => g.FullName).ToArray());
            AssertTensors(c, truth.GetProperty("tensors"), gatherWindowBytes);
            if (truth.TryGetProperty("lightning", out var l) && l.ValueKind == JsonValueKind.Object) AssertLightning(c, l);
        }

        private static void AssertTopLevel(Checkpoint c, JsonElement truth)
        {
            var type = truth.GetProperty("top_level_type").GetString();
            var actual = c.Root switch
            {
                Pickle.PyDict => "dict",
                Pickle.PyList => "list",
                Pickle.PyTuple => "tuple",
                TensorRef => "tensor",
                _ => "object",
            };
            Assert.Equal(type, actual);
            if (truth.GetProperty("top_level_keys").ValueKind == JsonValueKind.Array)
                Assert.Equal(truth.GetProperty("top_level_keys").EnumerateArray().Select(k => k.GetString()!).ToArray(), c.View.TopLevelKeys.ToArray());
        }

        private static void AssertTensors(Checkpoint c, JsonElement expected, int? gatherWindowBytes)
        {
            var actual = c.AllTensors;
            var exp = expected.EnumerateArray().ToList();
            Assert.Equal(exp.Select(e => e.GetProperty("path").GetString()).ToArray(), actual.Select(a => a.Path).ToArray());
            var groups = new Dictionary<StorageRef, int>();
            using var reader = new TensorDataReader(c);
            if (gatherWindowBytes != null) reader.GatherWindowBytes = gatherWindowBytes.Value;
            for (int i = 0; i < exp.Count; i++)
            {
                var e = exp[i];
                var t = actual[i].Tensor;
                var where = $"{c.FilePath} tensor {actual[i].Path}";
                Assert.True(e.GetProperty("dtype").GetString() == t.DType.Name, $"{where}: dtype {t.DType.Name}, torch says {e.GetProperty("dtype")}");
                var shape = Longs(e.GetProperty("shape"));
                // a strided nested tensor's regular dimensions are data of its size tensor, which listing does not read (-1)
                bool Same(long truth, long ours) => truth == ours || (t.Layout == "nested" && ours == -1);
                Assert.True(shape.Length == t.Shape.Length && shape.Zip(t.Shape, Same).All(x => x), $"{where}: shape [{string.Join(",", t.Shape)}]");
                if (e.GetProperty("layout").GetString() != "strided" || e.GetProperty("stride").ValueKind == JsonValueKind.Null) continue;
                Assert.True(Longs(e.GetProperty("stride")).SequenceEqual(t.Stride), $"{where}: stride [{string.Join(",", t.Stride)}]");
                Assert.True(e.GetProperty("storage_offset").GetInt64() == t.StorageOffset, $"{where}: storage offset");
                Assert.True(e.GetProperty("requires_grad").GetBoolean() == t.RequiresGrad, $"{where}: requires_grad");
                Assert.True(e.GetProperty("is_parameter").GetBoolean() == t.IsParameter, $"{where}: is_parameter");
                if (e.GetProperty("storage_group").ValueKind == JsonValueKind.Null)
                {
                    // meta and wrapper-subclass tensors: torch has no storage bytes for them, so neither have we
                    Assert.True(t.Storage == null && !t.HasData, $"{where}: torch has no data for it, we have storage {t.Storage?.Key}");
                    continue;
                }
                var root = t.Storage!; // torch groups by data pointer: a legacy storage view is its own group
                if (!groups.TryGetValue(root, out int g)) groups[root] = g = groups.Count;
                Assert.True(e.GetProperty("storage_group").GetInt32() == g, $"{where}: storage group {g}");
                if (e.TryGetProperty("sha256", out var sha) && sha.ValueKind == JsonValueKind.String)
                    Assert.True(sha.GetString() == reader.Sha256(t), $"{where}: sha256 differs");
            }
        }

        private static void AssertLightning(Checkpoint c, JsonElement l)
        {
            var info = CkptInfo.From(c);
            var v = c.View;
            Assert.True(v.IsLightning, c.FilePath + " should read as a Lightning checkpoint");
            if (l.GetProperty("epoch").ValueKind == JsonValueKind.Number) Assert.Equal(l.GetProperty("epoch").GetInt64(), (long)info.Epoch!);
            if (l.GetProperty("global_step").ValueKind == JsonValueKind.Number) Assert.Equal(l.GetProperty("global_step").GetInt64(), info.GlobalStep);
            Assert.Equal(l.GetProperty("version").GetString(), info.LightningVersion);
            if (l.TryGetProperty("monitor", out var m) && m.ValueKind == JsonValueKind.String) Assert.Equal(m.GetString(), info.Monitor);
            if (l.TryGetProperty("best_model_score", out var s) && s.ValueKind == JsonValueKind.Number)
            {
                // torch's float(t); a float32 score is given as its shortest float32 decimal (0.9, not 0.8999999762)
                double expected = s.GetDouble(), actual = info.BestModelScore!.Value;
                Assert.True(Math.Abs(expected - actual) < 5e-7 || SinglePrecision.Shortest(expected) == actual, $"{c.FilePath}: best_model_score {expected:R}, read {actual:R}");
            }
            if (l.TryGetProperty("best_model_path", out var p) && p.ValueKind == JsonValueKind.String) Assert.Equal(p.GetString(), info.BestModelPath);
            if (l.TryGetProperty("optimizer_kinds", out var ok) && ok.ValueKind == JsonValueKind.Array)
            {
                var kinds = ok.EnumerateArray().Select(k => k.GetString()!).ToArray();
                Assert.Equal(kinds.Length, info.Optimizers.Count);
                for (int i = 0; i < kinds.Length; i++)
                    if (kinds[i] != "unknown") Assert.Contains(kinds[i], info.Optimizers[i]); // the truth's "Adam" is the whole family (RAdam, NAdam …)
            }
            if (l.TryGetProperty("lr_scheduler_count", out var lc) && lc.ValueKind == JsonValueKind.Number) Assert.Equal(lc.GetInt32(), info.LrSchedulers.Count);
            if (l.TryGetProperty("hyper_parameters", out var hp) && hp.ValueKind == JsonValueKind.Object)
                foreach (var prop in hp.EnumerateObject()) AssertPlainValue(prop.Value, info.HyperParameters![prop.Name], prop.Name);
        }

        internal static void AssertPlainValue(JsonElement expected, object? actual, string where)
        {
            switch (expected.ValueKind)
            {
                case JsonValueKind.Null: Assert.Null(actual); break;
                case JsonValueKind.True: case JsonValueKind.False: Assert.Equal(expected.GetBoolean(), actual); break;
                case JsonValueKind.String: Assert.Equal(expected.GetString(), actual); break;
                case JsonValueKind.Number:
                    if (actual is long l) Assert.Equal(expected.GetInt64(), l);
                    else Assert.Equal(expected.GetDouble(), Assert.IsType<double>(actual), 12);
                    break;
                case JsonValueKind.Array:
                    var arr = Assert.IsType<object?[]>(actual);
                    var items = expected.EnumerateArray().ToList();
                    Assert.Equal(items.Count, arr.Length);
                    for (int i = 0; i < arr.Length; i++) AssertPlainValue(items[i], arr[i], where + "." + i);
                    break;
                case JsonValueKind.Object:
                    var dict = Assert.IsAssignableFrom<System.Collections.IDictionary>(actual);
                    foreach (var prop in expected.EnumerateObject()) AssertPlainValue(prop.Value, dict[prop.Name], where + "." + prop.Name);
                    break;
            }
        }

        /// <summary>A shape or stride; a nested tensor's ragged dimension (null in the truth) is -1.</summary>
        private static long[] Longs(JsonElement a) => a.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Null ? -1 : x.GetInt64()).ToArray();
    }
}
