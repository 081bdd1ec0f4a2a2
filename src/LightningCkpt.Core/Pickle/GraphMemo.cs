using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// What every walk over an unpickled graph shares: a pickle can reach one container from many places (memo GET),
    /// so a graph of n lists can have 2^n paths (each list holding the previous one twice). A walk that converts or
    /// renders each container once, by identity, and reuses the result stays linear in the file; the active set cuts
    /// cycles. Used by the metadata writer (PlainData), the hyper-parameter renderer and PyRepr; the tensor walker
    /// (ObjectWalker) keeps the same once-per-container rule with its own record, since it also reports later paths.
    /// </summary>
    internal sealed class GraphMemo<TResult>
    {
        private readonly Dictionary<object, TResult> _done = new Dictionary<object, TResult>(ReferenceComparer.Instance);
        private readonly HashSet<object> _active = new HashSet<object>(ReferenceComparer.Instance);

        /// <summary>The result of a container already finished.</summary>
        public bool TryGet(object node, out TResult result) => _done.TryGetValue(node, out result!);

        /// <summary>Starts a container; false when it is already being walked (a cycle).</summary>
        public bool Enter(object node) => _active.Add(node);

        /// <summary>Finishes a container with its result, which later visits reuse.</summary>
        public TResult Leave(object node, TResult result)
        {
            _active.Remove(node);
            _done[node] = result;
            return result;
        }
    }
}
