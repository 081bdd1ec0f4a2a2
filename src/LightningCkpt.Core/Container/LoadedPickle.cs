using System.Collections.Generic;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container
{
    /// <summary>What a container reader hands on: the object graph, its storages (located) and its globals.</summary>
    internal sealed class LoadedPickle
    {
        public LoadedPickle(object? root, IReadOnlyList<StorageRef> storages, GlobalsRecorder globals, int protocol, long pickleBytes)
        {
            Root = root;
            Storages = storages;
            Globals = globals;
            Protocol = protocol;
            PickleBytes = pickleBytes;
        }

        public object? Root { get; }
        public IReadOnlyList<StorageRef> Storages { get; }
        public GlobalsRecorder Globals { get; }
        public int Protocol { get; }
        public long PickleBytes { get; }
        public ZipDirectory? Zip { get; set; }
        public bool IsBigEndian { get; set; }
        public PyDict? SysInfo { get; set; }
    }
}
