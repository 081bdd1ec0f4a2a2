using System;
using LightningCkpt.Pickle;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The safety bookkeeping of every tensor's REDUCE stays free: a checkpoint calls _rebuild_tensor_v2 once per tensor
    /// with an empty backward-hooks dict, and building each call's reason text, the target's full name and two boxed
    /// enumerators there made Get-CkptInfo allocate ~340 KB more per open of the bench's 595-tensor file (issue 24).
    /// Bytes allocated are counted, not time.
    /// </summary>
    public class GlobalsRecorderCostTests
    {
        private static (GlobalsRecorder Recorder, PyGlobal Rebuild) Recorded()
        {
            var recorder = new GlobalsRecorder();
            var rebuild = new PyGlobal("torch._utils", "_rebuild_tensor_v2");
            recorder.Record(rebuild.Module, rebuild.Name, 2, rebuild);
            return (recorder, rebuild);
        }

        private static PyTuple RebuildArgs(PyDict hooks) =>
            new PyTuple(new object?[] { "storage", 0L, new PyTuple(new object?[] { 4L }), new PyTuple(new object?[] { 1L }), false, hooks });

        [Fact]
        public void ATensorWithoutHooksIsNotedWithoutAllocating()
        {
            var (recorder, rebuild) = Recorded();
            var args = RebuildArgs(new PyDict());
            for (int i = 0; i < 100; i++) recorder.NoteCall(rebuild, args, null); // JIT and first-use allocations

            const int calls = 10_000;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) recorder.NoteCall(rebuild, args, null);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.True(allocated < calls, $"{allocated} bytes for {calls} rebuild calls (was 448 bytes a call)");
            Assert.True(recorder.UseOf(rebuild)!.IsCalled);
        }

        [Fact]
        public void AHookGlobalIsStillChargedWithTheCall()
        {
            var (recorder, rebuild) = Recorded();
            var hook = new PyGlobal("os", "system");
            recorder.Record(hook.Module, hook.Name, 2, hook);
            var hooks = new PyDict();
            hooks.Set(0L, hook);

            recorder.NoteCall(rebuild, RebuildArgs(hooks), null);

            var use = recorder.UseOf(hook)!;
            Assert.True(use.IsCalled);
            Assert.Equal("torch._utils._rebuild_tensor_v2 installs it as a hook (argument 6)", use.CallReason);
        }
    }
}
