namespace LightningCkpt.Container
{
    /// <summary>The on-disk generations of torch.save.</summary>
    public enum CheckpointFormat
    {
        /// <summary>torch ≥ 1.6: a zip with data.pkl and data/&lt;key&gt; entries.</summary>
        Zip,
        /// <summary>torch 0.1.10–1.5: stacked pickles followed by raw storages.</summary>
        Legacy,
        /// <summary>torch ≤ 0.1.x: a tar with sys_info, pickle, storages and tensors members.</summary>
        Tar,
    }
}
