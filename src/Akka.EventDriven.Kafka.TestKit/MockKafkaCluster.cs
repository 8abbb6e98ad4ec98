using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka.TestKit;

/// <summary>
/// librdkafka's in-process mock Kafka cluster, for tests and benchmarks without a broker: it speaks the Kafka protocol
/// over TCP on 127.0.0.1 (so any client, in this process or another, can use <see cref="BootstrapServers"/>),
/// supports consumer groups, offset commits and the transactional producer API. Known limits: it keeps only a few MiB
/// per partition, read_committed consumers still see aborted messages, and offsets sent in a transaction are not
/// applied to the group. Started through the librdkafka that Confluent.Kafka loaded.
/// </summary>
public sealed class MockKafkaCluster : IDisposable
{
    private readonly IntPtr _handle;
    private readonly IntPtr _cluster;
    private readonly int _brokers;
    private bool _disposed;

    /// <summary>Starts a mock cluster of <paramref name="brokers"/> brokers.</summary>
    public MockKafkaCluster(int brokers = 3)
    {
        var native = Native.Value;
        var errors = Marshal.AllocHGlobal(512);
        try
        {
            _handle = native.KafkaNew(0, native.ConfNew(), errors, 512);
            if (_handle == IntPtr.Zero) throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringAnsi(errors));
        }
        finally
        {
            Marshal.FreeHGlobal(errors);
        }
        _brokers = brokers;
        _cluster = native.ClusterNew(_handle, brokers);
        if (_cluster == IntPtr.Zero) throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        BootstrapServers = Marshal.PtrToStringAnsi(native.Bootstraps(_cluster)) ?? throw new InvalidOperationException("No bootstrap address.");
    }

    /// <summary>The cluster's bootstrap address (host:port list).</summary>
    public string BootstrapServers { get; }

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions (auto-created topics
    /// get 4; the Admin API cannot create topics on the mock).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        var error = Native.Value.TopicCreate(_cluster, topic, partitions, replicationFactor);
        if (error != 0) throw new InvalidOperationException($"rd_kafka_mock_topic_create({topic}) failed: {(ErrorCode)error}.");
    }

    /// <summary>Delays every broker's responses by <paramref name="rtt"/> (zero restores them), to make calls slow in
    /// tests: commits, transactions and fetches then take at least that long per round trip.</summary>
    public void SetRoundTripTime(TimeSpan rtt)
    {
        for (var broker = 1; broker <= _brokers; broker++)     // the mock numbers its brokers from 1
        {
            var error = Native.Value.BrokerSetRtt(_cluster, broker, (int)rtt.TotalMilliseconds);
            if (error != 0) throw new InvalidOperationException($"rd_kafka_mock_broker_set_rtt({broker}) failed: {(ErrorCode)error}.");
        }
    }

    /// <summary>Takes every broker down (<paramref name="down"/>) or brings them back: a down broker closes its client
    /// connections and refuses new ones, as a broker that died would, but keeps its partitions and committed offsets,
    /// so clients resume where the cluster left off once it is up again.</summary>
    public void SetBrokersDown(bool down)
    {
        for (var broker = 1; broker <= _brokers; broker++)
        {
            var error = down ? Native.Value.BrokerSetDown(_cluster, broker) : Native.Value.BrokerSetUp(_cluster, broker);
            if (error != 0) throw new InvalidOperationException($"rd_kafka_mock_broker_set_{(down ? "down" : "up")}({broker}) failed: {(ErrorCode)error}.");
        }
    }

    /// <summary>Destroys the cluster.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Native.Value.ClusterDestroy(_cluster);
        Native.Value.KafkaDestroy(_handle);
    }

    private static readonly Lazy<NativeApi> Native = new(() => new NativeApi(LoadedLibrary()));

    /// <summary>The librdkafka Confluent.Kafka loaded (its path differs by distribution; a plain DllImport would not find it).</summary>
    private static IntPtr LoadedLibrary()
    {
        _ = Library.Version;    // makes Confluent.Kafka load its librdkafka
        if (File.Exists("/proc/self/maps"))
        {
            var path = File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
                .FirstOrDefault(p => p is not null && p.Contains("librdkafka", StringComparison.Ordinal) && File.Exists(p));
            if (path is not null) return NativeLibrary.Load(path);
        }
        if (NativeLibrary.TryLoad("librdkafka", typeof(Library).Assembly, null, out var handle)) return handle;
        throw new PlatformNotSupportedException("Could not locate the librdkafka loaded by Confluent.Kafka.");
    }

    private sealed class NativeApi
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate IntPtr ConfNewFn();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate IntPtr KafkaNewFn(int type, IntPtr conf, IntPtr errstr, nuint size);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate void KafkaDestroyFn(IntPtr rk);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate IntPtr ClusterNewFn(IntPtr rk, int brokers);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate void ClusterDestroyFn(IntPtr cluster);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate IntPtr BootstrapsFn(IntPtr cluster);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int TopicCreateFn(IntPtr cluster, [MarshalAs(UnmanagedType.LPStr)] string topic, int partitions, int replicationFactor);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int BrokerSetRttFn(IntPtr cluster, int brokerId, int rttMs);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int BrokerSetStateFn(IntPtr cluster, int brokerId);

        public readonly ConfNewFn ConfNew;
        public readonly KafkaNewFn KafkaNew;
        public readonly KafkaDestroyFn KafkaDestroy;
        public readonly ClusterNewFn ClusterNew;
        public readonly ClusterDestroyFn ClusterDestroy;
        public readonly BootstrapsFn Bootstraps;
        public readonly TopicCreateFn TopicCreate;
        public readonly BrokerSetRttFn BrokerSetRtt;
        public readonly BrokerSetStateFn BrokerSetDown;
        public readonly BrokerSetStateFn BrokerSetUp;

        public NativeApi(IntPtr library)
        {
            T Fn<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));
            ConfNew = Fn<ConfNewFn>("rd_kafka_conf_new");
            KafkaNew = Fn<KafkaNewFn>("rd_kafka_new");
            KafkaDestroy = Fn<KafkaDestroyFn>("rd_kafka_destroy");
            ClusterNew = Fn<ClusterNewFn>("rd_kafka_mock_cluster_new");
            ClusterDestroy = Fn<ClusterDestroyFn>("rd_kafka_mock_cluster_destroy");
            Bootstraps = Fn<BootstrapsFn>("rd_kafka_mock_cluster_bootstraps");
            TopicCreate = Fn<TopicCreateFn>("rd_kafka_mock_topic_create");
            BrokerSetRtt = Fn<BrokerSetRttFn>("rd_kafka_mock_broker_set_rtt");
            BrokerSetDown = Fn<BrokerSetStateFn>("rd_kafka_mock_broker_set_down");
            BrokerSetUp = Fn<BrokerSetStateFn>("rd_kafka_mock_broker_set_up");
        }
    }
}
