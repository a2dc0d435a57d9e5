package dev.dealstream.peers;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.util.Utf8;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Apache Avro (generic records) with the framing dealstream uses: byte 0x00,
 * the writer schema id as a 4-byte big-endian int, then the Avro binary body.
 * Writer ids 1-4 are the inputs the workload reads (processor.yaml's
 * schemas.ids), 10 the LeadRerating it writes.
 */
final class AvroCodec {
    static final int LEAD_RERATING_ID = 10;
    private static final String[] FILES = {null, "transcript_segment.avsc",
        "document_annotation.avsc", "iot_alert.avsc", "registry_change.avsc"};
    private static final Utf8 WINNER = new Utf8(Workload.TENDER_WINNER_ATTRIBUTE);

    final Schema[] inputs = new Schema[FILES.length];
    final Schema leadRerating;
    final Schema reason;

    AvroCodec(String schemaDir) {
        try {
            for (int i = 1; i < FILES.length; i++)
                inputs[i] = new Schema.Parser().parse(new File(schemaDir, FILES[i]));
            leadRerating = new Schema.Parser().parse(new File(schemaDir, "lead_rerating.avsc"));
            reason = leadRerating.getField("reasons").schema().getElementType();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Decodes framed input records into Workload.Event (null: not an input of the workload). */
    Deserializer<Workload.Event> eventDeserializer() {
        @SuppressWarnings("unchecked")
        GenericDatumReader<GenericRecord>[] readers = new GenericDatumReader[FILES.length];
        for (int i = 1; i < FILES.length; i++) readers[i] = new GenericDatumReader<>(inputs[i]);
        return new Deserializer<>() {
            private BinaryDecoder dec;
            private GenericRecord[] reuse = new GenericRecord[FILES.length];

            @Override
            public Workload.Event deserialize(String topic, byte[] b) {
                if (b == null || b.length < 5 || b[0] != 0)
                    throw new IllegalArgumentException("not a framed Avro record");
                int id = ByteBuffer.wrap(b, 1, 4).getInt();
                if (id < 1 || id >= FILES.length) return null;
                dec = DecoderFactory.get().binaryDecoder(b, 5, b.length - 5, dec);
                try {
                    GenericRecord r = readers[id].read(reuse[id], dec);
                    reuse[id] = r;
                    return toEvent(id, r);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }

    private static Workload.Event toEvent(int id, GenericRecord r) {
        Workload.Event ev = new Workload.Event();
        ev.kind = id;
        ev.eventId = str(r.get("event_id"));
        ev.customerId = str(r.get("customer_id"));
        ev.eventTime = (Long) r.get("event_time");
        switch (id) {
            case Workload.KIND_REGISTRY -> {
                ev.changeType = str(r.get("change_type"));
                ev.entityType = str(r.get("entity_type"));
                ev.entityId = str(r.get("entity_id"));
                Map<?, ?> attrs = (Map<?, ?>) r.get("attributes");
                ev.winner = attrs == null ? null : str(attrs.get(WINNER));
            }
            case Workload.KIND_IOT -> {
                ev.deviceId = str(r.get("device_id"));
                ev.alertType = str(r.get("alert_type"));
                ev.severity = str(r.get("severity"));
                ev.count = (Integer) r.get("count");
            }
            case Workload.KIND_ANNOTATION -> {
                ev.docType = str(r.get("doc_type"));
                ev.authorRole = str(r.get("author_role"));
                ev.text = str(r.get("text"));
            }
            case Workload.KIND_TRANSCRIPT -> {
                ev.speakerRole = str(r.get("speaker_role"));
                ev.text = str(r.get("text"));
            }
            default -> { }
        }
        return ev;
    }

    /** Encodes LeadRerating generic records, framed with id 10. */
    Serializer<GenericRecord> reratingSerializer() {
        GenericDatumWriter<GenericRecord> w = new GenericDatumWriter<>(leadRerating);
        return new Serializer<>() {
            private final ByteArrayOutputStream bo = new ByteArrayOutputStream(512);
            private BinaryEncoder enc;

            @Override
            public byte[] serialize(String topic, GenericRecord rec) {
                bo.reset();
                bo.write(0);
                bo.write(LEAD_RERATING_ID >>> 24);
                bo.write(LEAD_RERATING_ID >>> 16);
                bo.write(LEAD_RERATING_ID >>> 8);
                bo.write(LEAD_RERATING_ID);
                enc = EncoderFactory.get().binaryEncoder(bo, enc);
                try {
                    w.write(rec, enc);
                    enc.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return bo.toByteArray();
            }
        };
    }

    GenericRecord newRerating() {
        return new GenericData.Record(leadRerating);
    }

    GenericRecord newReason() {
        return new GenericData.Record(reason);
    }
}
