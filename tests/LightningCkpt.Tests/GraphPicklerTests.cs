using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics;
using LightningCkpt.Pickle;
using LightningCkpt.Safety;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>The graph writer read back by our own reader: sharing, cycles, type mapping, refusals, file safety.</summary>
    public class GraphPicklerTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-graph-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        private static string Sample => Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", "last.ckpt");

        public GraphPicklerTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private object? RoundTrip(object? root)
        {
            var file = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".ckpt");
            CheckpointExport.Write(root, file, overwrite: false);
            return CkptGraph.Load(file);
        }

        [Fact]
        public void Shared_objects_stay_one_object_and_cycles_survive()
        {
            var shared = new PyDict();
            shared.Set("x", 1L);
            var loop = new PyList();
            loop.Add(loop);
            var tupleCycle = new PyList();
            tupleCycle.Add(new PyTuple(new object?[] { tupleCycle, "t" }));
            var root = new PyDict();
            root.Set("a", shared);
            root.Set("b", shared);
            root.Set("loop", loop);
            root.Set("tc", tupleCycle);
            var back = (PyDict)RoundTrip(root)!;
            Assert.Same(back["a"], back["b"]);
            var l = (PyList)back["loop"]!;
            Assert.Same(l, l[0]);
            var tc = (PyList)back["tc"]!;
            Assert.Same(tc, ((PyTuple)tc[0]!)[0]);
        }

        [Fact]
        public void Dotnet_values_map_to_their_Python_types()
        {
            var root = new Hashtable
            {
                ["i"] = 5, ["b"] = (byte)7, ["u"] = ulong.MaxValue, ["big"] = BigInteger.Pow(2, 2100), ["f"] = 1.5f, ["m"] = 2.25m,
                ["c"] = 'z', ["bytes"] = new byte[] { 0, 255 }, ["none"] = null, ["yes"] = true, ["list"] = new object[] { 1, "two" },
                ["complex"] = new Complex(1, -2),
            };
            var back = (PyDict)RoundTrip(root)!;
            Assert.Equal(5L, back["i"]);
            Assert.Equal(7L, back["b"]);
            Assert.Equal(new BigInteger(ulong.MaxValue), back["u"]);
            Assert.Equal(BigInteger.Pow(2, 2100), back["big"]); // beyond LONG1: LONG4
            Assert.Equal(1.5, back["f"]);
            Assert.Equal(2.25, back["m"]);
            Assert.Equal("z", back["c"]);
            Assert.Equal(new byte[] { 0, 255 }, back["bytes"]);
            Assert.True(back.ContainsKey("none") && back["none"] == null);
            Assert.Equal(true, back["yes"]);
            Assert.Equal(new object?[] { 1L, "two" }, ((PyList)back["list"]!).ToArray());
            Assert.Equal(new Complex(1, -2), back["complex"]);
        }

        [Fact]
        public void Int_and_tuple_keys_keep_their_types_and_order()
        {
            var root = new PyDict();
            root.Set(0L, "int");
            root.Set("0", "str");
            root.Set(new PyTuple(new object?[] { "a", 1L }), "tuple");
            var back = (PyDict)RoundTrip(root)!;
            Assert.Equal(new object?[] { "int", "str", "tuple" }, back.Values.ToArray());
            Assert.IsType<long>(back.Keys.First());
            Assert.IsType<PyTuple>(back.Keys.Last());
        }

        [Fact]
        public void A_value_without_a_Python_type_is_refused_before_any_file_is_written()
        {
            var file = Path.Combine(_dir, "bad.ckpt");
            var e = Assert.Throws<GraphWriteException>(() => CheckpointExport.Write(new object?[] { DateTime.Now }, file, overwrite: false));
            Assert.Contains("System.DateTime", e.Message);
            Assert.False(File.Exists(file));
            Assert.Empty(Directory.GetFiles(_dir));
        }

        [Fact]
        public void An_object_built_from_itself_is_refused()
        {
            var o = new PyObject(new PyGlobal("m", "C"), PyTuple.Empty);
            var args = new PyTuple(new object?[] { o });
            var self = new PyObject(new PyGlobal("m", "D"), args);
            args.Replace(0, self);
            Assert.Throws<GraphWriteException>(() => GraphPickler.Dump(self, _ => null));
        }

        [Fact]
        public void Deep_graphs_are_written_or_refused_without_overflowing_the_stack()
        {
            object? deep = null;
            for (int i = 0; i < 5000; i++) { var l = new PyList(); l.Add(deep); deep = l; }
            Assert.IsType<PyList>(RoundTrip(deep));
            object? deeper = null;
            for (int i = 0; i < GraphPickler.MaxDepth + 10; i++) { var l = new PyList(); l.Add(deeper); deeper = l; }
            Assert.Throws<GraphWriteException>(() => GraphPickler.Dump(deeper, _ => null));
        }

        [Fact]
        public void An_edited_checkpoint_keeps_tensors_bytes_classes_and_valid_crcs()
        {
            var root = (PyDict)CkptGraph.Load(Sample)!;
            root.Remove("optimizer_states");
            root["epoch"] = 0;
            Assert.Equal(4, ((PyDict)root["state_dict"]!).RenameKeys("^model\\.", "m."));
            var file = Path.Combine(_dir, "edited.ckpt");
            CheckpointExport.Write(root, file, overwrite: false);
            var result = CheckpointValidator.Test(file, new ValidateOptions { VerifyCrc = true });
            Assert.True(result.IsValid, string.Join("; ", result.Findings));
            var back = (PyDict)CkptGraph.Load(file)!;
            Assert.False(back.ContainsKey("optimizer_states"));
            Assert.Equal(0L, back["epoch"]);
            var before = CkptTensor.List(Checkpoint.Open(Sample), all: false).Select(t => t.Tensor).ToList();
            var after = ((PyDict)back["state_dict"]!).Values.Cast<CkptTensor>().ToList();
            Assert.Equal(before.Count, after.Count);
            using var ra = new Data.TensorDataReader(Checkpoint.Open(Sample));
            for (int i = 0; i < before.Count; i++)
            {
                using var rb = new Data.TensorDataReader(Checkpoint.Open(file));
                Assert.Equal(ra.Sha256(before[i]), rb.Sha256(after[i].Tensor));
            }
            Assert.Equal("lightning_fabric.utilities.data.AttributeDict", ((PyDict)back["hyper_parameters"]!).PythonType!.FullName);
        }

        [Fact]
        public void The_output_is_never_a_source_and_a_changed_source_is_refused()
        {
            var copy = Path.Combine(_dir, "src.ckpt");
            File.Copy(Sample, copy);
            var bytes = File.ReadAllBytes(copy);
            var root = CkptGraph.Load(copy);
            Assert.Throws<IOException>(() => CheckpointExport.Write(root, copy, overwrite: true));
            Assert.Equal(bytes, File.ReadAllBytes(copy));

            File.SetLastWriteTimeUtc(copy, DateTime.UtcNow.AddHours(-1));
            var outFile = Path.Combine(_dir, "out.ckpt");
            Assert.Throws<SourceChangedException>(() => CheckpointExport.Write(root, outFile, overwrite: false));
            Assert.False(File.Exists(outFile));
        }

        [Fact]
        public void Select_follows_key_paths_through_dicts_lists_int_keys_and_objects()
        {
            var root = CkptGraph.Load(Sample);
            Assert.IsType<double>(CkptGraph.Select(root, "optimizer_states/0/param_groups/-1/lr"));
            Assert.IsType<CkptTensor>(CkptGraph.Select(root, "optimizer_states/0/state/0/exp_avg"));
            Assert.Equal(16L, CkptGraph.Select(root, "hyper_parameters/hidden_dim"));
            var e = Assert.Throws<KeyNotFoundException>(() => CkptGraph.Select(root, "optimizer_states/7"));
            Assert.Contains("'optimizer_states' has no key '7'", e.Message);
        }

        [Fact]
        public void PyDict_edits_keep_order_and_lookups()
        {
            var d = new PyDict();
            for (int i = 0; i < 20; i++) d.Set("k" + i, (long)i); // past the index threshold
            Assert.True(d.TryRemove("k3"));
            Assert.False(d.TryRemove("k3"));
            Assert.True(d.RenameKey("k5", "five"));
            var collision = Assert.Throws<ArgumentException>(() => d.RenameKey("k6", "k7"));
            Assert.DoesNotContain("(Parameter", collision.Message); // a PowerShell user reads this message as it is
            Assert.Equal(5L, d["five"]);
            Assert.Null(d["k5"]);
            Assert.Equal("five", d.Keys.ElementAt(4));
            Assert.Equal(19, d.Count);
            var entries = new List<DictionaryEntry>();
            foreach (DictionaryEntry e in (IDictionary)d) entries.Add(e);
            Assert.Equal("k0", entries[0].Key);
        }
    }
}
