using System;
using System.Collections.Generic;
using LightningCkpt.Safety;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// How a pickle uses one global, as data for safety grading: what Python's unpickler would look it up as
    /// (<see cref="Targets"/>) and whether the pickle calls it, directly or through a function that calls its arguments.
    /// </summary>
    public sealed class GlobalUse
    {
        private readonly List<PyGlobal> _targets = new List<PyGlobal>(1);

        public GlobalUse(PyGlobal global) => Global = global;

        /// <summary>The global as the file spells it.</summary>
        public PyGlobal Global { get; }

        /// <summary>
        /// The module and (possibly dotted) attribute path find_class reaches: after torch's torch.tensor mapping and,
        /// at protocol ≤ 2, Python 2 names mapped by _compat_pickle. One per distinct protocol it was met at.
        /// </summary>
        public IReadOnlyList<PyGlobal> Targets => _targets;

        /// <summary>How the pickle calls it (null: never called, only named or instantiated without __init__).</summary>
        public string? CallReason { get; private set; }

        public bool IsCalled => CallReason != null;

        /// <summary>
        /// Every call was Cls(value) with one scalar argument: the shape Enum.__reduce_ex__ gives a member, which looks the
        /// member up (false when never called).
        /// </summary>
        public bool OnlyLooksUpMembers => IsCalled && !_otherCalls;

        private bool _otherCalls;

        /// <summary>
        /// The arguments that the functions at <see cref="Targets"/> call (<see cref="Safety.ArgumentCalls"/>), looked up
        /// once per target: every REDUCE of a global reads them, and a checkpoint calls _rebuild_tensor_v2 once per tensor.
        /// </summary>
        internal (string Function, int Index, ArgumentRole Role)[] ArgumentCalls { get; private set; } = Array.Empty<(string, int, ArgumentRole)>();

        internal void AddTarget(PyGlobal target)
        {
            foreach (var t in _targets) if (t.Equals(target)) return;
            _targets.Add(target);
            string function = target.FullName;
            var calls = Safety.ArgumentCalls.Of(function);
            if (calls.Count == 0) return;
            var all = new List<(string, int, ArgumentRole)>(ArgumentCalls);
            foreach (var (index, role) in calls) all.Add((function, index, role));
            ArgumentCalls = all.ToArray();
        }

        internal void MarkCalled(string reason, bool memberLookup = false)
        {
            CallReason ??= reason;
            if (!memberLookup) _otherCalls = true;
        }

        internal void MergeFrom(GlobalUse other)
        {
            foreach (var t in other._targets) AddTarget(t);
            if (other.CallReason != null) MarkCalled(other.CallReason, !other._otherCalls);
        }
    }
}
