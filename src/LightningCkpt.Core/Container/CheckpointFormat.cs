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
        /// <summary>A safetensors file: a JSON header and raw tensor bytes.</summary>
        Safetensors,
        /// <summary>A Hugging Face sharded checkpoint: an *.index.json weight map and safetensors or torch.save shards.</summary>
        HuggingFaceSharded,
        /// <summary>A torch.distributed.checkpoint folder: .metadata and __R_N.distcp files.</summary>
        Dcp,
        /// <summary>A Lightning FSDP/ModelParallel sharded .ckpt folder: DCP files plus meta.pt.</summary>
        LightningSharded,
        /// <summary>A DeepSpeed ZeRO checkpoint folder: latest, *_model_states.pt and *_optim_states.pt per rank.</summary>
        DeepSpeed,
        /// <summary>A DeepSpeed universal checkpoint (ds_to_universal): latest_universal, zero/&lt;param&gt;/fp32.pt … and the model states.</summary>
        DeepSpeedUniversal,
    }
}
