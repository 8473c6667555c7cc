#!/usr/bin/env bash
# The whole quarter on the bundled samples, with the same commands a district runs (README, "Each quarter").
#   bash samples/run_quarter.sh [SAMPLES_DIR] [OUT_DIR]
# `make demo` runs it with the project's virtual environment first on PATH.
set -euo pipefail
SAMPLES=${1:-samples}
OUT=${2:-out}
PERIOD=2023-Q2
DISTRICT=540   # thị xã Hoài Nhơn in samples/roster.csv (made-up code)

rm -rf "$OUT"
mkdir -p "$OUT"

echo "== 1. Biểu mẫu cho từng đơn vị =="
cchc template --roster "$SAMPLES/roster.csv" --period "$PERIOD" -o "$OUT/bieu-mau"

echo
echo "== 2. Thư gửi biểu mẫu (bản nháp .eml, chưa gửi) =="
cchc distribute --roster "$SAMPLES/roster.csv" --under "$DISTRICT" --period "$PERIOD" --outbox "$OUT/thu-gui" \
    --contact "Phòng Nội vụ thị xã Hoài Nhơn"

echo
echo "== 3. Kiểm tra các báo cáo gửi về, phản hồi cho đơn vị =="
# exit status 1 says that some returns have errors: expected here, the samples include them
status=0
cchc check "$SAMPLES/returns" --roster "$SAMPLES/roster.csv" --period "$PERIOD" --feedback "$OUT/phan-hoi" || status=$?
[ "$status" -le 1 ] || exit "$status"

echo
echo "== 4. Tổng hợp báo cáo của thị xã =="
cchc aggregate "$SAMPLES/returns" --roster "$SAMPLES/roster.csv" --under "$DISTRICT" --period "$PERIOD" \
    -o "$OUT/tong-hop_${DISTRICT}_${PERIOD}.xlsx" --csv "$OUT/so-lieu_${DISTRICT}_${PERIOD}.csv" \
    --report "$OUT/bao-cao_${DISTRICT}_${PERIOD}.docx"
# the same merge as one JSON document (for scripts): --json prints it on stdout
cchc aggregate "$SAMPLES/returns" --roster "$SAMPLES/roster.csv" --under "$DISTRICT" --period "$PERIOD" \
    --json > "$OUT/tong-hop_${DISTRICT}_${PERIOD}.json"

echo
echo "== 5. Thư mục làm việc của trang web (cchc serve) =="
# the library's python: the one beside `cchc` (make demo puts the project's virtual environment first)
"${PYTHON:-python}" "$SAMPLES/demo_workspace.py" "$SAMPLES" "$OUT/cchc-du-lieu"

echo
echo "Xong. Xem kết quả trong $OUT/:"
echo "  bieu-mau/   biểu mẫu đã khóa của từng đơn vị"
echo "  thu-gui/    thư (.eml) kèm biểu mẫu, sẵn sàng gửi"
echo "  phan-hoi/   tệp phản hồi cho các đơn vị có lỗi hoặc cảnh báo"
echo "  tong-hop_${DISTRICT}_${PERIOD}.xlsx   báo cáo tổng hợp của thị xã (kèm tình hình nộp báo cáo, biểu đồ)"
echo "  bao-cao_${DISTRICT}_${PERIOD}.docx   dự thảo báo cáo CCHC của thị xã (Word, kèm Phụ lục I)"
echo "  tong-hop_${DISTRICT}_${PERIOD}.json   tóm tắt tổng hợp (JSON), so-lieu_${DISTRICT}_${PERIOD}.csv   số liệu dạng bảng"
echo "  cchc-du-lieu/   thư mục làm việc với kỳ $PERIOD: mở bằng  cchc serve --workspace $OUT/cchc-du-lieu"
