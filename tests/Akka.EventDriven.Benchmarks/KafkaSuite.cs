using System.Diagnostics;
using Akka.Actor;
using Akka.EventDriven.Kafka;
using Akka.EventDriven.Kafka.TestKit;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// <c>kafka</c>: produce, and consume + commit, through the Kafka stages against raw Confluent.Kafka loops with the
/// same settings, on librdkafka's mock cluster (in process, 3 brokers). Messages of 200 bytes. Produce: linger.ms 5,
/// acks all, delivery handler per message. Consume: a committable source + committer (batch 1000) against a loop of
/// Consume + Commit() every 1000, fetch.wait.max.ms 10 for both, timed from the first message (the group join, ~3 s on
/// the mock, is excluded). The mock keeps ~5 MiB per partition, so each round produces 200k messages to a fresh
/// 16-partition topic per side, and each consumer reads 120k of its side's topic. Main ratio = the lower of the two.
/// </summary>
public static class KafkaSuite
{
    private const int PayloadBytes = 200;

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var rounds = ctx.Quick ? 2 : 6;
        const int messages = 200_000;
        const int consumed = 120_000;
        using var cluster = new MockKafkaCluster(3);
        using var system = ActorSystem.Create("kafka-bench", "akka.loglevel = WARNING");
        var materializer = system.Materializer();
        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);
        var producerSettings = KafkaProducerSettings<Null, byte[]>.Create(system).WithBootstrapServers(cluster.BootstrapServers);
        if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_KAFKA_MAX_IN_FLIGHT"), out var maxInFlight))
            producerSettings = producerSettings with { MaxInFlight = maxInFlight };
        var consumerSettings = KafkaConsumerSettings<Null, byte[]>.Create(system).WithBootstrapServers(cluster.BootstrapServers);

        var produceRaw = new List<double>();
        var produceStage = new List<double>();
        var consumeRaw = new List<double>();
        var consumeStage = new List<double>();
        for (var round = 0; round <= rounds; round++)     // round 0 is the warm-up
        {
            // Raw and stage produce to topics of their own (the mock keeps ~5 MiB per partition: one run per topic fits).
            var rawTopic = $"bench-{ctx.RunId}-{round}-raw";
            var stageTopic = $"bench-{ctx.RunId}-{round}-stage";
            cluster.CreateTopic(rawTopic, 16);
            cluster.CreateTopic(stageTopic, 16);
            double pr, ps;
            if (round % 2 == 0)     // alternate which goes first
            {
                pr = ProduceRaw(producerSettings, rawTopic, payload, messages);
                ps = await ProduceStageAsync(producerSettings, materializer, stageTopic, payload, messages);
            }
            else
            {
                ps = await ProduceStageAsync(producerSettings, materializer, stageTopic, payload, messages);
                pr = ProduceRaw(producerSettings, rawTopic, payload, messages);
            }
            // Each consumer reads the first `consumed` messages of one of the two (identical) topics.
            // The mock drops the oldest messages of a partition beyond ~5 MiB: read at most what is still there.
            var cr = ConsumeRaw(consumerSettings.WithGroupId($"raw-{rawTopic}"), rawTopic, Math.Min(consumed, Available(consumerSettings, rawTopic)));
            var cs = await ConsumeStageAsync(consumerSettings.WithGroupId($"stage-{stageTopic}"), materializer, stageTopic,
                Math.Min(consumed, Available(consumerSettings, stageTopic)));
            Log($"round {round}{(round == 0 ? " (warm-up)" : "")}: produce raw {pr:N0}/s stage {ps:N0}/s ({ps / pr:0.000}); " +
                $"consume+commit raw {cr:N0}/s stage {cs:N0}/s ({cs / cr:0.000})");
            if (round == 0) continue;
            produceRaw.Add(pr);
            produceStage.Add(ps);
            consumeRaw.Add(cr);
            consumeStage.Add(cs);
        }

        var (pRaw, pStage, cRaw, cStage) = (Median(produceRaw), Median(produceStage), Median(consumeRaw), Median(consumeStage));
        var produceRatio = pStage / pRaw;
        var consumeRatio = cStage / cRaw;
        var (platform, baseline) = produceRatio <= consumeRatio ? (pStage, pRaw) : (cStage, cRaw);
        return new SuiteResult(platform, baseline, 0.9, rounds * (2L * messages + 2L * consumed), 0, new Dictionary<string, object?>
        {
            ["main_ratio"] = produceRatio <= consumeRatio ? "produce (the lower)" : "consume+commit (the lower)",
            ["produce_ratio"] = Math.Round(produceRatio, 3),
            ["consume_commit_ratio"] = Math.Round(consumeRatio, 3),
            ["produce_stage_per_s"] = produceStage.Select(x => Math.Round(x)).ToArray(),
            ["produce_raw_per_s"] = produceRaw.Select(x => Math.Round(x)).ToArray(),
            ["consume_stage_per_s"] = consumeStage.Select(x => Math.Round(x)).ToArray(),
            ["consume_raw_per_s"] = consumeRaw.Select(x => Math.Round(x)).ToArray(),
            ["produced_per_round_each"] = messages,
            ["consumed_per_round_each"] = consumed,
            ["rounds"] = rounds,
            ["payload_bytes"] = PayloadBytes,
            ["settings"] = "mock cluster 3 brokers, 16 partitions; producer linger.ms=5 acks=all; consumer fetch.wait.max.ms=10, commit every 1000",
        });
    }

    private static int Available(KafkaConsumerSettings<Null, byte[]> settings, string topic)
    {
        using var consumer = new ConsumerBuilder<Null, byte[]>(new ConsumerConfig(settings.Properties.ToDictionary()) { GroupId = "watermarks" }).Build();
        long total = 0;
        for (var p = 0; p < 16; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            total += w.High.Value - w.Low.Value;
        }
        return (int)Math.Min(int.MaxValue, total * 9 / 10);    // a margin: the mock may drop more while we read
    }

    private static double ProduceRaw(KafkaProducerSettings<Null, byte[]> settings, string topic, byte[] payload, int count)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig(settings.Properties.ToDictionary())).Build();
        var message = new Message<Null, byte[]> { Value = payload };
        long delivered = 0, failed = 0;
        Action<DeliveryReport<Null, byte[]>> handler = r =>
        {
            if (r.Error.IsError) Interlocked.Increment(ref failed);
            else Interlocked.Increment(ref delivered);
        };
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, handler);
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed.TotalSeconds;
        if (Interlocked.Read(ref delivered) != count) throw new InvalidOperationException($"raw produce: {delivered} delivered, {failed} failed of {count}");
        return count / elapsed;
    }

    private static async Task<double> ProduceStageAsync(KafkaProducerSettings<Null, byte[]> settings, IMaterializer materializer, string topic,
        byte[] payload, int count)
    {
        var message = new Message<Null, byte[]> { Value = payload };
        var clock = Stopwatch.StartNew();
        await Source.Repeat(message).Take(count).RunWith(KafkaProducer.Sink(settings, topic), materializer);
        return count / clock.Elapsed.TotalSeconds;
    }

    private static double ConsumeRaw(KafkaConsumerSettings<Null, byte[]> settings, string topic, int count)
    {
        var config = new ConsumerConfig(settings.Properties.ToDictionary()) { EnableAutoCommit = false };
        using var consumer = new ConsumerBuilder<Null, byte[]>(config).Build();
        consumer.Subscribe(topic);
        Stopwatch? clock = null;
        var received = 0;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (received < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"raw consume: {received} of {count} after 2 minutes");
            var r = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (r is null) continue;
            clock ??= Stopwatch.StartNew();
            if (++received % 1000 == 0) consumer.Commit();
        }
        if (received % 1000 != 0) consumer.Commit();
        var elapsed = clock!.Elapsed.TotalSeconds;
        consumer.Close();
        return count / elapsed;
    }

    private static async Task<double> ConsumeStageAsync(KafkaConsumerSettings<Null, byte[]> settings, IMaterializer materializer, string topic, int count)
    {
        Stopwatch? clock = null;
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .Take(count)
            .Select(m =>
            {
                clock ??= Stopwatch.StartNew();
                return (ICommittable)m;
            })
            .ToMaterialized(Committer.Sink(new CommitterSettings(MaxBatch: 1000)), Keep.Both)
            .Run(materializer);
        await done.WaitAsync(TimeSpan.FromMinutes(2));
        var elapsed = clock!.Elapsed.TotalSeconds;
        await control.Closed;
        return count / elapsed;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
